package migrate_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/ssokit/platform/libs/migrate"
	"github.com/ssokit/platform/libs/testenv"
)

func noop(context.Context, *sqlx.Tx) error { return nil }

func TestRunRejectsInvalidMigrations(t *testing.T) {
	tests := []struct {
		name string
		ms   []migrate.Migration
	}{
		{"duplicate version", []migrate.Migration{{1, "a", noop}, {2, "b", noop}, {2, "c", noop}}},
		{"gap", []migrate.Migration{{1, "a", noop}, {3, "c", noop}}},
		{"not starting at 1", []migrate.Migration{{2, "b", noop}, {3, "c", noop}}},
		{"version 0", []migrate.Migration{{0, "zero", noop}, {1, "a", noop}}},
		{"no name", []migrate.Migration{{1, "", noop}}},
		{"no Up", []migrate.Migration{{1, "a", nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The list is checked before any connection is made, so no
			// database is needed (a nil one would panic if it were used).
			n, err := migrate.Run(t.Context(), nil, tt.ms)
			if !errors.Is(err, migrate.ErrInvalid) {
				t.Fatalf("Run = %d, %v; want ErrInvalid", n, err)
			}
			if n != 0 {
				t.Fatalf("applied = %d, want 0", n)
			}
		})
	}
}

func TestFromFS(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_add_index.sql":     {Data: []byte("CREATE INDEX a_x ON a (x);")},
		"m/0001_create_a.sql":      {Data: []byte("CREATE TABLE a (x int);")},
		"m/0010_later.sql":         {Data: []byte("SELECT 1;")},
		"m/README.md":              {Data: []byte("not a migration")},
		"m/sub/0003_ignored.sql":   {Data: []byte("SELECT 1;")},
		"other/0001_elsewhere.sql": {Data: []byte("SELECT 1;")},
	}
	ms, err := migrate.FromFS(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	type vn struct {
		Version int
		Name    string
	}
	var got []vn
	for _, m := range ms {
		got = append(got, vn{m.Version, m.Name})
		if m.Up == nil {
			t.Errorf("version %d has no Up", m.Version)
		}
	}
	want := []vn{{1, "create_a"}, {2, "add_index"}, {10, "later"}}
	if len(got) != len(want) {
		t.Fatalf("FromFS = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("FromFS = %v, want %v", got, want)
		}
	}
}

func TestFromFSRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name string
		file string
		data string
	}{
		{"no version", "create_a.sql", "SELECT 1;"},
		{"no name", "0001.sql", "SELECT 1;"},
		{"space in name", "0001_create a.sql", "SELECT 1;"},
		{"empty", "0001_empty.sql", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"m/" + tt.file: {Data: []byte(tt.data)}}
			if ms, err := migrate.FromFS(fsys, "m"); !errors.Is(err, migrate.ErrInvalid) {
				t.Fatalf("FromFS = %v, %v; want ErrInvalid", ms, err)
			}
		})
	}
	if _, err := migrate.FromFS(fstest.MapFS{}, "missing"); err == nil {
		t.Fatal("FromFS of a missing directory succeeded")
	}
}

// freshDB creates a database of its own on the primary for one test and
// drops it when the test ends.
func freshDB(t *testing.T) *sqlx.DB {
	t.Helper()
	testenv.Require(t, testenv.HostPort(testenv.PGPrimaryDSN))
	ctx := testenv.Context(t, 30*time.Second)
	admin, err := sqlx.Open("postgres", testenv.PGPrimaryDSN)
	if err != nil {
		t.Fatal(err)
	}
	name := testenv.Name(t, "migrate")
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	u, err := url.Parse(testenv.PGPrimaryDSN)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := sqlx.Open("postgres", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	return db
}

type applied struct {
	Version int    `db:"version"`
	Name    string `db:"name"`
}

func history(t *testing.T, db *sqlx.DB) []applied {
	t.Helper()
	var rows []applied
	if err := db.Select(&rows, "SELECT version, name FROM schema_migrations ORDER BY version"); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return rows
}

func assertHistory(t *testing.T, db *sqlx.DB, want ...applied) {
	t.Helper()
	got := history(t, db)
	if len(got) != len(want) {
		t.Fatalf("schema_migrations = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("schema_migrations = %v, want %v", got, want)
		}
	}
}

func count(t *testing.T, db *sqlx.DB, query string) int {
	t.Helper()
	var n int
	if err := db.Get(&n, query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestRunAppliesPendingOnce(t *testing.T) {
	db := freshDB(t)
	ctx := testenv.Context(t, time.Minute)

	files, err := migrate.FromFS(fstest.MapFS{
		"m/0001_create_notes.sql": {Data: []byte(`
			CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);
			CREATE INDEX notes_body ON notes (body);`)},
		"m/0003_add_author.sql": {Data: []byte(`ALTER TABLE notes ADD COLUMN author text;`)},
	}, "m")
	if err != nil {
		t.Fatal(err)
	}
	seed := migrate.Migration{Version: 2, Name: "seed", Up: func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO notes (id, body) VALUES (1, 'hello'), (2, 'world')")
		return err
	}}
	ms := append([]migrate.Migration{seed}, files...) // any order: Run sorts

	n, err := migrate.Run(ctx, db, ms)
	if err != nil || n != 3 {
		t.Fatalf("first Run = %d, %v; want 3, nil", n, err)
	}
	assertHistory(t, db, applied{1, "create_notes"}, applied{2, "seed"}, applied{3, "add_author"})
	if got := count(t, db, "SELECT count(*) FROM notes WHERE author IS NULL"); got != 2 {
		t.Fatalf("notes = %d rows, want the 2 seeded", got)
	}

	n, err = migrate.Run(ctx, db, ms)
	if err != nil || n != 0 {
		t.Fatalf("second Run = %d, %v; want 0, nil", n, err)
	}
	if got := count(t, db, "SELECT count(*) FROM notes"); got != 2 {
		t.Fatalf("notes = %d rows after re-run, want 2 (seed must not run again)", got)
	}

	ms = append(ms, migrate.SQL(4, "drop_author", "ALTER TABLE notes DROP COLUMN author"))
	n, err = migrate.Run(ctx, db, ms)
	if err != nil || n != 1 {
		t.Fatalf("Run with one new migration = %d, %v; want 1, nil", n, err)
	}
	assertHistory(t, db, applied{1, "create_notes"}, applied{2, "seed"}, applied{3, "add_author"}, applied{4, "drop_author"})

	// A database ahead of the code (a newer release migrated it) is left
	// alone: an older process can still start.
	n, err = migrate.Run(ctx, db, ms[:3])
	if err != nil || n != 0 {
		t.Fatalf("Run of an older list = %d, %v; want 0, nil", n, err)
	}
}

func TestRunConcurrentAppliesOnce(t *testing.T) {
	db := freshDB(t)
	ctx := testenv.Context(t, time.Minute)

	ms := []migrate.Migration{
		// Slow enough that every runner is waiting while the first applies.
		migrate.SQL(1, "create_runs", "CREATE TABLE runs (n serial PRIMARY KEY); SELECT pg_sleep(0.3);"),
		migrate.SQL(2, "record_run", "INSERT INTO runs DEFAULT VALUES"),
		migrate.SQL(3, "record_again", "INSERT INTO runs DEFAULT VALUES"),
	}
	const runners = 3
	var (
		wg      sync.WaitGroup
		counts  [runners]int
		errs    [runners]error
		release = make(chan struct{})
	)
	for i := range runners {
		wg.Go(func() {
			<-release
			counts[i], errs[i] = migrate.Run(ctx, db, ms)
		})
	}
	close(release)
	wg.Wait()

	total := 0
	for i := range runners {
		if errs[i] != nil {
			t.Fatalf("runner %d: %v", i, errs[i])
		}
		total += counts[i]
	}
	if total != len(ms) || !slices.Contains(counts[:], len(ms)) {
		t.Fatalf("runners applied %v; want one runner to apply all %d (the lock serializes whole runs)", counts, len(ms))
	}
	if got := count(t, db, "SELECT count(*) FROM runs"); got != 2 {
		t.Fatalf("runs = %d rows, want 2 (each insert migration exactly once)", got)
	}
	assertHistory(t, db, applied{1, "create_runs"}, applied{2, "record_run"}, applied{3, "record_again"})
}

func TestRunFailureRollsBackThatMigration(t *testing.T) {
	db := freshDB(t)
	ctx := testenv.Context(t, time.Minute)

	good := migrate.SQL(1, "create_a", "CREATE TABLE a (x int)")
	third := migrate.SQL(3, "create_c", "CREATE TABLE c (x int)")
	broken := migrate.SQL(2, "create_b", "CREATE TABLE b (x int); INSERT INTO a VALUES (1); SELECT 1/0;")

	n, err := migrate.Run(ctx, db, []migrate.Migration{good, broken, third})
	if n != 1 {
		t.Fatalf("applied = %d, want 1 (the one before the failure)", n)
	}
	var merr *migrate.Error
	if !errors.As(err, &merr) {
		t.Fatalf("Run error = %v, want a *migrate.Error", err)
	}
	if merr.Version != 2 || merr.Name != "create_b" {
		t.Fatalf("failed migration = %d %q, want 2 \"create_b\"", merr.Version, merr.Name)
	}
	if pqErr := pq.As(err, pqerror.DivisionByZero); pqErr == nil {
		t.Fatalf("Run error = %v, want the database's division_by_zero underneath", err)
	}
	assertHistory(t, db, applied{1, "create_a"})
	if got := count(t, db, "SELECT count(*) FROM pg_tables WHERE tablename IN ('b', 'c')"); got != 0 {
		t.Fatalf("%d of tables b, c exist; the failed migration must be rolled back and the next not run", got)
	}
	if got := count(t, db, "SELECT count(*) FROM a"); got != 0 {
		t.Fatalf("a has %d rows; the failed migration's insert must be rolled back", got)
	}

	fixed := migrate.SQL(2, "create_b", "CREATE TABLE b (x int)")
	n, err = migrate.Run(ctx, db, []migrate.Migration{good, fixed, third})
	if err != nil || n != 2 {
		t.Fatalf("Run after the fix = %d, %v; want 2, nil", n, err)
	}
	assertHistory(t, db, applied{1, "create_a"}, applied{2, "create_b"}, applied{3, "create_c"})
}

func TestRunRefusesDivergedHistory(t *testing.T) {
	ms := []migrate.Migration{
		migrate.SQL(1, "create_a", "CREATE TABLE a (x int)"),
		migrate.SQL(2, "create_b", "CREATE TABLE b (x int)"),
		migrate.SQL(3, "create_c", "CREATE TABLE c (x int)"),
	}
	tests := []struct {
		name    string
		tamper  string // run on the migrated database
		applied []migrate.Migration
	}{
		{
			name:    "renamed version",
			applied: []migrate.Migration{ms[0], migrate.SQL(2, "create_bee", "SELECT 1"), ms[2]},
		},
		{
			name:    "pending version older than an applied one",
			tamper:  "DELETE FROM schema_migrations WHERE version = 2",
			applied: ms,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := freshDB(t)
			ctx := testenv.Context(t, time.Minute)
			if _, err := migrate.Run(ctx, db, ms); err != nil {
				t.Fatal(err)
			}
			if tt.tamper != "" {
				if _, err := db.ExecContext(ctx, tt.tamper); err != nil {
					t.Fatal(err)
				}
			}
			before := history(t, db)
			n, err := migrate.Run(ctx, db, tt.applied)
			if !errors.Is(err, migrate.ErrDiverged) || n != 0 {
				t.Fatalf("Run = %d, %v; want 0, ErrDiverged", n, err)
			}
			assertHistory(t, db, before...)
		})
	}
}

func TestRunHonoursContext(t *testing.T) {
	db := freshDB(t)
	ctx, cancel := context.WithCancel(t.Context())
	ms := []migrate.Migration{{Version: 1, Name: "cancelled", Up: func(ctx context.Context, tx *sqlx.Tx) error {
		cancel()
		_, err := tx.ExecContext(ctx, "SELECT pg_sleep(5)")
		return err
	}}}
	start := time.Now()
	n, err := migrate.Run(ctx, db, ms)
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Fatalf("Run = %d, %v; want 0, context.Canceled", n, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Run took %s after cancellation", d)
	}
	// The lock was released: another Run proceeds at once.
	ctx2 := testenv.Context(t, 10*time.Second)
	if n, err := migrate.Run(ctx2, db, []migrate.Migration{migrate.SQL(1, "cancelled", "SELECT 1")}); err != nil || n != 1 {
		t.Fatalf("Run after cancellation = %d, %v; want 1, nil", n, err)
	}
}
