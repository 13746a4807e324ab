// Package order is a use case that reaches past its ports.
package order

import (
	"database/sql"
	"net/http"

	"example.com/shop/internal/price"
	"example.com/shop/internal/store"
)

var (
	_ = sql.ErrNoRows
	_ = http.StatusOK
	_ = store.Name
	_ = price.Cents
)
