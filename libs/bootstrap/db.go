package bootstrap

import (
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver for database/sql.
)

// OpenDB opens a PostgreSQL pool of at most maxOpen connections, all of
// which may stay open while idle. It does not connect: the process starts
// while the database is down, and readiness reports it.
func OpenDB(dsn string, maxOpen int) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	return db, nil
}
