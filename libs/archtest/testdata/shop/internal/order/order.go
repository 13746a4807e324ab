// Package order is a use case that reaches past its ports.
package order

import (
	"database/sql"
	"net/http"

	"github.com/ssokit/platform/services/shop/internal/price"
	"github.com/ssokit/platform/services/shop/internal/store"
)

// Name names the use case.
const Name = "order"

var (
	_ = sql.ErrNoRows
	_ = http.StatusOK
	_ = store.Name
	_ = price.Cents(0)
)
