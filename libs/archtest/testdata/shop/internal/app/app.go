// Package app is the wiring: it may import every adapter.
package app

import (
	"github.com/ssokit/platform/services/shop/internal/order"
	"github.com/ssokit/platform/services/shop/internal/store"
	"github.com/ssokit/platform/services/shop/internal/web"
)

// Names lists what was wired.
var Names = []string{store.Name, web.Name}

var _ = order.Name
