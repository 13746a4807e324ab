// Package web is a transport.
package web

import _ "net/http"

// Name names the adapter.
var Name = "web"
