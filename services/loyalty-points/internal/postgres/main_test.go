package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/loyalty-points/internal/postgres"
)

// shared is the one migrated database, loyalty_test_<hex>, that the
// package's tests share.
var shared = testenv.SharedDB{
	Prefix: "loyalty_test",
	Setup: func(ctx context.Context, db *sqlx.DB) error {
		// Room for the concurrency tests' goroutines, each holding a
		// connection while it waits for the account's lock.
		db.SetMaxOpenConns(30)
		return postgres.Migrate(ctx, db)
	},
}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

// testDB returns a pool on the package's migrated test database.
func testDB(tb testing.TB) *sqlx.DB { return shared.DB(tb) }
