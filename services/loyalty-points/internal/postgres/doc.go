// Package postgres stores loyalty accounts and their transactions in the
// service's own PostgreSQL database and implements ledger.Store (Ledger).
// It owns the schema, applied by Migrate from the embedded migrations.
//
// # Schema
//
//	accounts      one row per user: the balance (CHECK balance >= 0)
//	transactions  the append-only history; UNIQUE (user_id,
//	              idempotency_key) makes API operations idempotent, a
//	              partial unique index allows one WELCOME_BONUS per user
//
// # Concurrency
//
// Every change of an account runs in one database transaction that first
// locks the account's row (SELECT ... FOR UPDATE), so the changes of one
// account are applied one at a time, and an idempotency key or a welcome
// bonus written by a concurrent call is seen once that call has committed.
// The balance itself is changed by a guarded UPDATE (balance = balance -
// amount WHERE balance >= amount), never by writing back a value read
// earlier; the CHECK constraints and unique indexes stay as the last line
// of defence.
//
// Errors other than the ledger's are the database's, wrapped with the
// prefix "postgres: ".
package postgres
