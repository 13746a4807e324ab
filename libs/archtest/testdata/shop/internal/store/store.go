// Package store is an adapter that imports another adapter.
package store

import "example.com/shop/internal/web"

// Name names the adapter.
var Name = "store" + web.Name
