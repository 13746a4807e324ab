// Package ledgertest holds the contract suite of ledger.Store and the
// in-memory Store that passes it.
//
// The suite runs against the fake in this package's tests and against the
// PostgreSQL store in its integration tests, so the rules the use cases
// rely on (one welcome bonus per user, idempotency keys, a balance never
// below zero) hold in the unit tests' fake exactly as in production.
package ledgertest
