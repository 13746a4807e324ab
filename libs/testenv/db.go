package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver for database/sql.
)

// WithDatabase returns dsn, a postgres:// URL such as PGPrimaryDSN, naming
// database name instead of its own; user, host and options are kept. It
// panics on a DSN that is not a URL: the stack's DSNs always are.
func WithDatabase(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		panic(fmt.Sprintf("testenv: DSN %q: %v", dsn, err))
	}
	u.Path = "/" + name
	return u.String()
}

// CreateDatabase creates an empty database <prefix>_<random hex> on the
// primary (PGPrimaryDSN) and waits until the replica (PGReplicaDSN) lists
// it, so code that reads from the replica finds it. The returned drop
// removes it, ending any sessions still open on it; call it once the
// database is no longer used. It suits TestMain and sync.Once setups;
// a single test uses Database.
func CreateDatabase(ctx context.Context, prefix string) (name string, drop func() error, err error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name = prefix + "_" + hex.EncodeToString(b[:])

	primary, err := sql.Open("postgres", PGPrimaryDSN)
	if err != nil {
		return "", nil, err
	}
	defer primary.Close()
	if _, err := primary.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := sql.Open("postgres", PGPrimaryDSN)
		if err != nil {
			return err
		}
		defer admin.Close()
		// FORCE ends the sessions that pools still hold.
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	if err := awaitReplica(ctx, name); err != nil {
		return "", nil, errors.Join(err, drop())
	}
	return name, drop, nil
}

// awaitReplica waits, up to 30 seconds or the end of ctx, until the
// replica lists the database name.
func awaitReplica(ctx context.Context, name string) error {
	replica, err := sql.Open("postgres", PGReplicaDSN)
	if err != nil {
		return err
	}
	defer replica.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var lastErr error
	for {
		var n int
		lastErr = replica.QueryRowContext(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n)
		if lastErr == nil && n == 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("database %s never reached the replica (last error: %v): %w", name, lastErr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Database gives t an empty database of its own, <prefix>_<random hex>,
// created with CreateDatabase and dropped when t ends, and returns its
// name; WithDatabase turns it into a DSN. Like Require, it skips t under
// -short and fails it without the primary and the replica.
func Database(t testing.TB, prefix string) string {
	t.Helper()
	Require(t, HostPort(PGPrimaryDSN), HostPort(PGReplicaDSN))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, drop, err := CreateDatabase(ctx, prefix)
	if err != nil {
		t.Fatalf("test database: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("test database: %v", err)
		}
	})
	return name
}
