package testenv_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/testenv"
)

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		dsn, name, want string
	}{
		{
			"postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable", "app_test",
			"postgres://postgres:postgres@127.0.0.1:5432/app_test?sslmode=disable",
		},
		{"postgres://u:p@db:5433/other", "x", "postgres://u:p@db:5433/x"},
		{"postgres://u@db", "x", "postgres://u@db/x"},
	}
	for _, tt := range tests {
		if got := testenv.WithDatabase(tt.dsn, tt.name); got != tt.want {
			t.Errorf("WithDatabase(%q, %q) = %q, want %q", tt.dsn, tt.name, got, tt.want)
		}
	}
}

// TestDatabaseIsOwnOnPrimaryAndReplicaAndDropped proves Database's
// database exists on both servers under a fresh name, and CreateDatabase's
// drop removes it even while a session is still open on it.
func TestDatabaseIsOwnOnPrimaryAndReplicaAndDropped(t *testing.T) {
	name := testenv.Database(t, "testenv_db")
	if !regexp.MustCompile(`^testenv_db_[0-9a-f]{12}$`).MatchString(name) {
		t.Fatalf("name = %q, want testenv_db_<12 hex digits>", name)
	}
	if other := testenv.Database(t, "testenv_db"); other == name {
		t.Fatalf("two calls both returned %q", name)
	}
	ctx := testenv.Context(t, time.Minute)
	for _, dsn := range []string{testenv.PGPrimaryDSN, testenv.PGReplicaDSN} {
		db := sqlx.MustOpen("postgres", testenv.WithDatabase(dsn, name))
		var got string
		err := db.GetContext(ctx, &got, "SELECT current_database()")
		db.Close()
		if err != nil || got != name {
			t.Fatalf("current_database() on %s = %q, %v; want %q", testenv.HostPort(dsn), got, err, name)
		}
	}

	name, drop, err := testenv.CreateDatabase(ctx, "testenv_drop")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drop() })
	open := sqlx.MustOpen("postgres", testenv.WithDatabase(testenv.PGPrimaryDSN, name))
	defer open.Close()
	if err := open.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := drop(); err != nil {
		t.Fatalf("drop with a session open: %v", err)
	}
	primary := sqlx.MustOpen("postgres", testenv.PGPrimaryDSN)
	defer primary.Close()
	var n int
	if err := primary.GetContext(ctx, &n, "SELECT count(*) FROM pg_database WHERE datname = $1", name); err != nil || n != 0 {
		t.Fatalf("databases named %s after drop = %d, %v; want 0", name, n, err)
	}
	if err := drop(); err != nil {
		t.Fatalf("second drop = %v, want nil", err)
	}
}
