package postgres

// The statements the adapter runs, for the tests that EXPLAIN them.
const (
	QueryByEmail       = queryByEmail
	QueryByID          = queryByID
	UpdatePasswordHash = updatePasswordHash
)
