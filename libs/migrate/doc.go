// Package migrate brings a PostgreSQL schema up to date when a service
// starts, the same way in every service.
//
// A schema is an ordered list of Migrations numbered 1, 2, 3, ... with no
// gaps: plain SQL files embedded in the binary (FromFS) and, where SQL alone
// cannot say it, Go functions (a table whose shape depends on
// configuration). Run applies the ones a database has not seen yet, each in
// its own transaction, and records them in the table schema_migrations of
// the connection's current schema.
//
// Several processes may start at once against one database: Run holds a
// PostgreSQL advisory lock for the whole run, so exactly one of them applies
// a migration and the others find it done. Migrations are forward only;
// there is no down direction, because a rollback of a released schema is a
// new migration. A migration that must run outside a transaction (CREATE
// INDEX CONCURRENTLY) is not supported.
package migrate
