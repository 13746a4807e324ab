package migrate

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"

	"github.com/jmoiron/sqlx"
)

// Migration is one step of a schema.
type Migration struct {
	// Version orders the steps: 1 for the first, then consecutive.
	Version int
	// Name says what the step does; it is recorded with the version, and a
	// database that applied Version under another Name is refused.
	Name string
	// Up applies the step inside tx; Run commits tx and records the
	// version in the same transaction, so a step is applied entirely or
	// not at all.
	Up func(ctx context.Context, tx *sqlx.Tx) error
}

var (
	// ErrInvalid means a list of migrations is malformed: a version below
	// 1, a duplicate or missing version, a missing name or function.
	ErrInvalid = errors.New("migrate: invalid migrations")
	// ErrDiverged means the database's history does not match the
	// migrations: a version was applied under another name, or a pending
	// version is older than one already applied (it would run out of
	// order). A database that is merely ahead of the code (a newer release
	// migrated it) is not an error.
	ErrDiverged = errors.New("migrate: database history does not match the migrations")
)

// Error reports the migration that failed; Run rolled it back, and every
// earlier migration stays applied.
type Error struct {
	Version int
	Name    string
	Err     error
}

func (e *Error) Error() string {
	return fmt.Sprintf("migrate: version %d (%s): %v", e.Version, e.Name, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// lockKey names the advisory lock Run holds; advisory locks are scoped to
// one database, so services with their own databases never wait on each
// other. The value is arbitrary but must never change.
const lockKey int64 = 0x73736f6b69740001

// Run applies the migrations the database has not recorded, in version
// order, and returns how many it applied. It waits for any other Run on the
// same database to finish first. When a migration fails, Run returns an
// *Error naming it, with the count of those applied before it.
func Run(ctx context.Context, db *sqlx.DB, migrations []Migration) (applied int, err error) {
	ms, err := sorted(migrations)
	if err != nil {
		return 0, err
	}
	conn, err := db.Connx(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()

	// A session lock, not a transaction lock: it must outlive the
	// transaction of each migration.
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return 0, fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() {
		// Unlock even when ctx is done; if that fails, the connection must
		// not go back to the pool holding the lock: discarding it ends the
		// session, and the lock with it.
		uctx := context.WithoutCancel(ctx)
		if _, uerr := conn.ExecContext(uctx, "SELECT pg_advisory_unlock($1)", lockKey); uerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return 0, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	pending, err := pendingOf(ctx, conn, ms)
	if err != nil {
		return 0, err
	}
	for _, m := range pending {
		if err := apply(ctx, conn, m); err != nil {
			return applied, &Error{Version: m.Version, Name: m.Name, Err: err}
		}
		applied++
	}
	return applied, nil
}

// pendingOf returns the migrations the database has not applied, after
// checking that its history is a prefix-compatible version of ms.
func pendingOf(ctx context.Context, conn *sqlx.Conn, ms []Migration) ([]Migration, error) {
	var rows []struct {
		Version int    `db:"version"`
		Name    string `db:"name"`
	}
	if err := conn.SelectContext(ctx, &rows, "SELECT version, name FROM schema_migrations ORDER BY version"); err != nil {
		return nil, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	done := make(map[int]string, len(rows))
	latest := 0
	for _, r := range rows {
		done[r.Version] = r.Name
		latest = max(latest, r.Version)
	}
	var pending []Migration
	for _, m := range ms {
		name, ok := done[m.Version]
		switch {
		case ok && name != m.Name:
			return nil, fmt.Errorf("%w: version %d was applied as %q, the code calls it %q", ErrDiverged, m.Version, name, m.Name)
		case ok:
		case m.Version < latest:
			return nil, fmt.Errorf("%w: version %d (%s) is not applied but version %d is", ErrDiverged, m.Version, m.Name, latest)
		default:
			pending = append(pending, m)
		}
	}
	return pending, nil
}

func apply(ctx context.Context, conn *sqlx.Conn, m Migration) error {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if err := m.Up(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
		return err
	}
	return tx.Commit()
}

// sorted returns a copy of ms in version order, or ErrInvalid when the
// versions are not 1..n without gaps or a migration lacks a name or Up.
func sorted(ms []Migration) ([]Migration, error) {
	out := slices.Clone(ms)
	slices.SortStableFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range out {
		switch {
		case m.Name == "":
			return nil, fmt.Errorf("%w: version %d has no name", ErrInvalid, m.Version)
		case m.Up == nil:
			return nil, fmt.Errorf("%w: version %d (%s) has no Up", ErrInvalid, m.Version, m.Name)
		case i > 0 && m.Version == out[i-1].Version:
			return nil, fmt.Errorf("%w: version %d is used by both %q and %q", ErrInvalid, m.Version, out[i-1].Name, m.Name)
		case m.Version != i+1:
			return nil, fmt.Errorf("%w: version %d (%s) found where %d was expected: versions start at 1 without gaps", ErrInvalid, m.Version, m.Name, i+1)
		}
	}
	return out, nil
}

// fileName is NNNN_name.sql: digits, an underscore, a name.
var fileName = regexp.MustCompile(`^([0-9]+)_([A-Za-z0-9_-]+)\.sql$`)

// FromFS reads the migrations in dir of fsys (typically an embed.FS): one
// file NNNN_name.sql per version, executed as a single script. Files not
// ending in .sql are ignored; a .sql file with another name is an error
// rather than a migration silently skipped. The result is in version order
// and can be appended to Go migrations before Run.
func FromFS(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		match := fileName.FindStringSubmatch(e.Name())
		if match == nil {
			return nil, fmt.Errorf("%w: file %s is not named NNNN_name.sql", ErrInvalid, e.Name())
		}
		version, err := strconv.Atoi(match[1])
		if err != nil {
			return nil, fmt.Errorf("%w: file %s: %v", ErrInvalid, e.Name(), err)
		}
		script, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		if len(script) == 0 {
			return nil, fmt.Errorf("%w: file %s is empty", ErrInvalid, e.Name())
		}
		ms = append(ms, SQL(version, match[2], string(script)))
	}
	slices.SortStableFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	return ms, nil
}

// SQL returns a migration that executes script, which may hold several
// statements.
func SQL(version int, name, script string) Migration {
	return Migration{
		Version: version,
		Name:    name,
		Up: func(ctx context.Context, tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, script)
			return err
		},
	}
}
