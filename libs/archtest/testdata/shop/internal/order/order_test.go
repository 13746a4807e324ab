package order_test

import (
	"testing"

	"github.com/ssokit/platform/services/shop/internal/web"
)

// Tests may use adapters: the layer rules do not look at them.
func TestWeb(t *testing.T) { _ = web.Name }
