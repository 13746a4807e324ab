package testenv_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/ssokit/platform/libs/testenv"
)

// TestPostgresReplicaStreamsFromPrimary proves the replica is a live
// streaming standby of the primary: a row written on the primary becomes
// readable on the replica, and the replica refuses writes.
func TestPostgresReplicaStreamsFromPrimary(t *testing.T) {
	testenv.Require(t, testenv.HostPort(testenv.PGPrimaryDSN), testenv.HostPort(testenv.PGReplicaDSN))
	ctx := testenv.Context(t, 30*time.Second)

	primary := sqlx.MustOpen("postgres", testenv.PGPrimaryDSN)
	t.Cleanup(func() { primary.Close() })
	replica := sqlx.MustOpen("postgres", testenv.PGReplicaDSN)
	t.Cleanup(func() { replica.Close() })

	var inRecovery bool
	if err := replica.GetContext(ctx, &inRecovery, "SELECT pg_is_in_recovery()"); err != nil {
		t.Fatalf("replica: %v", err)
	}
	if !inRecovery {
		t.Fatal("replica is not in recovery: it is a primary, not a standby")
	}
	var streaming int
	if err := primary.GetContext(ctx, &streaming,
		"SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"); err != nil {
		t.Fatalf("primary: %v", err)
	}
	if streaming < 1 {
		t.Fatal("primary reports no streaming replica in pg_stat_replication")
	}

	table := testenv.Name(t, "probe")
	if _, err := primary.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (id int PRIMARY KEY, note text NOT NULL)", table)); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() { _, _ = primary.Exec("DROP TABLE IF EXISTS " + table) })
	want := "written on the primary at " + time.Now().Format(time.RFC3339Nano)
	if _, err := primary.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (id, note) VALUES (1, $1)", table), want); err != nil {
		t.Fatalf("insert: %v", err)
	}

	var got string
	replicated := testenv.Eventually(10*time.Second, 50*time.Millisecond, func() bool {
		return replica.GetContext(ctx, &got, fmt.Sprintf("SELECT note FROM %s WHERE id = 1", table)) == nil
	})
	if !replicated {
		t.Fatal("row written on the primary never became readable on the replica")
	}
	if got != want {
		t.Fatalf("replica returned %q, want %q", got, want)
	}

	_, err := replica.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (id, note) VALUES (2, 'x')", table))
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "25006" { // read_only_sql_transaction
		t.Fatalf("write on the replica: got %v, want read_only_sql_transaction (25006)", err)
	}
}
