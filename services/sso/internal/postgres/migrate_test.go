package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/postgres"
)

func TestMigrateRejectsPartitionCount(t *testing.T) {
	for _, n := range []int{-1, postgres.MaxPartitions + 1} {
		// Checked before the database is used, so none is needed.
		if err := postgres.Migrate(t.Context(), nil, n); err == nil {
			t.Errorf("Migrate with %d partitions succeeded", n)
		}
	}
}

type migration struct {
	Version int    `db:"version"`
	Name    string `db:"name"`
}

func TestMigrateIsIdempotentAndKeepsPartitions(t *testing.T) {
	primary, _ := testDB(t) // migrated by the package setup with 0: the default
	ctx := testenv.Context(t, 30*time.Second)

	assertPartitions(t, primary, postgres.DefaultPartitions)
	if err := postgres.Migrate(ctx, primary, 4); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	assertPartitions(t, primary, postgres.DefaultPartitions)

	var history []migration
	if err := primary.SelectContext(ctx, &history, "SELECT version, name FROM schema_migrations ORDER BY version"); err != nil {
		t.Fatal(err)
	}
	want := []migration{{1, "users"}, {2, "user_ids"}, {3, "outbox"}, {4, "outbox_retry_index"}, {5, "account_tokens"}, {6, "admin"}, {7, "user_data_keys"}, {8, "audit"}, {9, "oidc_clients"}}
	if fmt.Sprint(history) != fmt.Sprint(want) {
		t.Fatalf("schema_migrations = %v, want %v", history, want)
	}
}

func TestMigrateCreatesRequestedPartitions(t *testing.T) {
	name := testenv.Database(t, "sso_test")
	ctx := testenv.Context(t, time.Minute)
	db, err := sqlx.Open("postgres", testenv.WithDatabase(testenv.PGPrimaryDSN, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	if err := postgres.Migrate(ctx, db, 3); err != nil {
		t.Fatal(err)
	}
	assertPartitions(t, db, 3)

	// Rows spread over all partitions by the hash of the e-mail.
	users := postgres.NewUsers(db, nil, nil)
	for range 30 {
		if err := users.Create(ctx, newUser(t)); err != nil {
			t.Fatal(err)
		}
	}
	var used int
	if err := db.GetContext(ctx, &used, "SELECT count(DISTINCT tableoid) FROM users"); err != nil {
		t.Fatal(err)
	}
	if used != 3 {
		t.Fatalf("30 users landed in %d partitions, want all 3", used)
	}
}

// assertPartitions checks that users has exactly n hash partitions,
// users_p0 .. users_p<n-1>, remainder i in users_p<i>.
func assertPartitions(t *testing.T, db *sqlx.DB, n int) {
	t.Helper()
	var bounds []struct {
		Name  string `db:"name"`
		Bound string `db:"bound"`
	}
	if err := db.SelectContext(t.Context(), &bounds, `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'users'::regclass ORDER BY length(c.relname), c.relname`); err != nil {
		t.Fatal(err)
	}
	if len(bounds) != n {
		t.Fatalf("users has %d partitions, want %d: %v", len(bounds), n, bounds)
	}
	for i, b := range bounds {
		wantName, wantBound := fmt.Sprintf("users_p%d", i), fmt.Sprintf("FOR VALUES WITH (modulus %d, remainder %d)", n, i)
		if b.Name != wantName || b.Bound != wantBound {
			t.Errorf("partition %d = %s %s, want %s %s", i, b.Name, b.Bound, wantName, wantBound)
		}
	}
}
