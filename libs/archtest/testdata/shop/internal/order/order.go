// Package order is a use case that reaches past its ports.
package order

import (
	"database/sql"
	"net/http"

	"github.com/ssokit/platform/services/shop/internal/price"
	"github.com/ssokit/platform/services/shop/internal/store"
)

var (
	_ = sql.ErrNoRows
	_ = http.StatusOK
	_ = store.Name
	_ = price.Cents
)
