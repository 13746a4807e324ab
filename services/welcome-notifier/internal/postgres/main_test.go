package postgres_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/welcome-notifier/internal/postgres"
)

// shared is the one migrated database, notifier_test_<hex>, that the
// package's tests share; every test works on users of its own.
var shared = testenv.SharedDB{
	Prefix: "notifier_test",
	Setup: func(ctx context.Context, db *sqlx.DB) error {
		if err := postgres.Migrate(ctx, db); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		// A second run finds nothing to do: every process start runs it.
		if err := postgres.Migrate(ctx, db); err != nil {
			return fmt.Errorf("migrate again: %w", err)
		}
		return nil
	},
}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

// testDB returns a pool on the package's migrated test database.
func testDB(tb testing.TB) *sqlx.DB { return shared.DB(tb) }
