package testenv

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// SharedDB is one database that all the tests of a package share, for
// packages whose tests each work on rows of their own: it is created on the
// primary as <Prefix>_<hex> by the first test that asks for it, prepared
// once by Setup (migrations, pool size), and dropped by Close, which the
// package's TestMain calls after m.Run. The service's real database is
// never touched.
type SharedDB struct {
	// Prefix names the database, e.g. "loyalty_test".
	Prefix string
	// Setup prepares the new database, typically by migrating it.
	Setup func(ctx context.Context, db *sqlx.DB) error

	once sync.Once
	db   *sqlx.DB
	drop func() error
	err  error
}

// DB returns a pool on the shared database, creating and preparing it on
// the first call. It fails tb when PostgreSQL does not answer or the
// database cannot be made.
func (s *SharedDB) DB(tb testing.TB) *sqlx.DB {
	tb.Helper()
	Require(tb, HostPort(PGPrimaryDSN), HostPort(PGReplicaDSN))
	s.once.Do(func() { s.err = s.setup() })
	if s.err != nil {
		tb.Fatalf("test database: %v", s.err)
	}
	return s.db
}

func (s *SharedDB) setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, drop, err := CreateDatabase(ctx, s.Prefix)
	if err != nil {
		return err
	}
	s.drop = drop
	if s.db, err = sqlx.Open("postgres", WithDatabase(PGPrimaryDSN, name)); err != nil {
		return err
	}
	if s.Setup == nil {
		return nil
	}
	return s.Setup(ctx, s.db)
}

// Close closes the pool and drops the database, if a test made it. It
// prints, rather than returns, a failure to drop: the tests have run by
// then, and a left-over test database is harmless.
func (s *SharedDB) Close() {
	if s.db != nil {
		s.db.Close()
	}
	if s.drop != nil {
		if err := s.drop(); err != nil {
			fmt.Println(err)
		}
	}
}
