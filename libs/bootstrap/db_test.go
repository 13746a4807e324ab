package bootstrap_test

import (
	"errors"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/ssokit/platform/libs/bootstrap"
	"github.com/ssokit/platform/libs/grpcerr"
	"github.com/ssokit/platform/libs/testenv"
)

// TestOpenDBDropsReadOnlyConnection: a write refused because the node is
// read-only (what a pooled connection to a demoted primary sees) reaches
// the caller as an outage, and the pool does not hand that connection out
// again; an ordinary SQL error keeps the connection.
func TestOpenDBDropsReadOnlyConnection(t *testing.T) {
	testenv.Require(t, testenv.HostPort(testenv.PGReplicaDSN))
	ctx := testenv.Context(t, 30*time.Second)
	db, err := bootstrap.OpenDB(testenv.PGReplicaDSN, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var standby bool
	if err := db.GetContext(ctx, &standby, "SELECT pg_is_in_recovery()"); err != nil || !standby {
		t.Fatalf("PG_REPLICA_DSN reached no standby (in recovery %v, %v)", standby, err)
	}
	backend := func() int {
		t.Helper()
		var pid int
		if err := db.GetContext(ctx, &pid, "SELECT pg_backend_pid()"); err != nil {
			t.Fatal(err)
		}
		return pid
	}

	first := backend()
	if _, err := db.ExecContext(ctx, "SELECT no_such_column FROM pg_class"); err == nil {
		t.Fatal("bad SQL succeeded")
	}
	if got := backend(); got != first {
		t.Fatalf("an ordinary SQL error replaced the connection (backend %d, then %d)", first, got)
	}

	_, err = db.ExecContext(ctx, "CREATE TEMP TABLE t (x int)")
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "25006" {
		t.Fatalf("write on a standby: %v, want read_only_sql_transaction (25006)", err)
	}
	if !grpcerr.Unavailable(err) {
		t.Fatalf("Unavailable(%v) = false: a client would see a bug instead of a retryable outage", err)
	}
	if got := backend(); got == first {
		t.Fatalf("the pool reused connection %d after it refused a write as read-only", got)
	}
}

// TestOpenDBUnreachableIsUnavailable: when no node listed in the DSN can be
// reached, the error is an outage for the error mappers, not a bug.
func TestOpenDBUnreachableIsUnavailable(t *testing.T) {
	db, err := bootstrap.OpenDB("postgres://u:p@/db?host=127.0.0.1,127.0.0.1&port=1,2&connect_timeout=1&target_session_attrs=read-write&sslmode=disable", 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	err = db.PingContext(t.Context())
	if err == nil || !grpcerr.Unavailable(err) {
		t.Fatalf("ping with no reachable node: %v, want an Unavailable error", err)
	}
}
