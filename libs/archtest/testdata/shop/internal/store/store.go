// Package store is an adapter that imports another adapter.
package store

import "github.com/ssokit/platform/services/shop/internal/web"

// Name names the adapter.
var Name = "store" + web.Name
