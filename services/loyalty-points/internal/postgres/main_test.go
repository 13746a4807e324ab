package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/loyalty-points/internal/postgres"
)

// The package's tests share one database of their own, loyalty_test_<hex>,
// created on the primary by the first test that needs it, migrated, and
// dropped when the package is done. The real loyalty database is never
// touched.
var shared struct {
	once     sync.Once
	name     string
	admin    *sqlx.DB // the primary's postgres database, to create and drop
	db       *sqlx.DB
	setupErr error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.db != nil {
		shared.db.Close()
	}
	if shared.admin != nil {
		if shared.name != "" {
			if _, err := shared.admin.Exec("DROP DATABASE IF EXISTS " + shared.name + " WITH (FORCE)"); err != nil {
				fmt.Printf("drop test database %s: %v\n", shared.name, err)
			}
		}
		shared.admin.Close()
	}
	os.Exit(code)
}

// testDB returns a pool on the package's migrated test database.
func testDB(tb testing.TB) *sqlx.DB {
	tb.Helper()
	testenv.Require(tb, testenv.HostPort(testenv.PGPrimaryDSN))
	shared.once.Do(func() { shared.setupErr = setup() })
	if shared.setupErr != nil {
		tb.Fatalf("test database: %v", shared.setupErr)
	}
	return shared.db
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := sqlx.Open("postgres", testenv.PGPrimaryDSN)
	if err != nil {
		return err
	}
	shared.admin = admin
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "loyalty_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	shared.name = name
	u, err := url.Parse(testenv.PGPrimaryDSN)
	if err != nil {
		return err
	}
	u.Path = "/" + name
	if shared.db, err = sqlx.Open("postgres", u.String()); err != nil {
		return err
	}
	// Room for the concurrency tests' goroutines, each holding a
	// connection while it waits for the account's lock.
	shared.db.SetMaxOpenConns(30)
	return postgres.Migrate(ctx, shared.db)
}
