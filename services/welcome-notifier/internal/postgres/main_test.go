package postgres_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/welcome-notifier/internal/postgres"
)

// The package's tests share one database of their own, notifier_test_<hex>,
// created on the primary by the first test that needs it, migrated, and
// dropped when the package is done; every test works on users of its own.
// The real notifier database is never touched.
var shared struct {
	once     sync.Once
	drop     func() error
	db       *sqlx.DB
	setupErr error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.db != nil {
		shared.db.Close()
	}
	if shared.drop != nil {
		if err := shared.drop(); err != nil {
			fmt.Println(err)
		}
	}
	os.Exit(code)
}

// testDB returns a pool on the package's migrated test database.
func testDB(tb testing.TB) *sqlx.DB {
	tb.Helper()
	testenv.Require(tb, testenv.HostPort(testenv.PGPrimaryDSN), testenv.HostPort(testenv.PGReplicaDSN))
	shared.once.Do(func() { shared.setupErr = setup() })
	if shared.setupErr != nil {
		tb.Fatalf("test database: %v", shared.setupErr)
	}
	return shared.db
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, drop, err := testenv.CreateDatabase(ctx, "notifier_test")
	if err != nil {
		return err
	}
	shared.drop = drop
	if shared.db, err = sqlx.Open("postgres", testenv.WithDatabase(testenv.PGPrimaryDSN, name)); err != nil {
		return err
	}
	if err := postgres.Migrate(ctx, shared.db); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// A second run finds nothing to do: every process start runs it.
	if err := postgres.Migrate(ctx, shared.db); err != nil {
		return fmt.Errorf("migrate again: %w", err)
	}
	return nil
}
