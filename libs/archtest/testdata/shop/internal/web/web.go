// Package web is a transport that reaches into another service.
package web

import (
	_ "net/http"

	"github.com/ssokit/platform/services/other/api"
)

// Name names the adapter.
var Name = "web" + string(rune('0'+api.Version))
