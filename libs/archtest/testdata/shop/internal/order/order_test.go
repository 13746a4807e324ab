package order_test

import (
	"testing"

	"example.com/shop/internal/web"
)

// Tests may use adapters: the layer rules do not look at them.
func TestWeb(t *testing.T) { _ = web.Name }
