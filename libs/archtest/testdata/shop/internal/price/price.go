// Package price is a domain package that keeps to itself.
package price

// Cents is a price.
type Cents int64
