// Package testdb gives an integration test a PostgreSQL database of its own
// on the stack's primary, so it never touches the real notifier database.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver for database/sql.

	"github.com/ssokit/platform/libs/testenv"
)

// New creates an empty database notifier_test_<random hex> and returns its
// DSN; the database is dropped when t ends. Under -short t is skipped.
func New(t testing.TB) string {
	t.Helper()
	testenv.Require(t, testenv.HostPort(testenv.PGPrimaryDSN))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sqlx.Open("postgres", testenv.PGPrimaryDSN)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "notifier_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		// FORCE ends sessions a pool still holds.
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(testenv.PGPrimaryDSN)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
