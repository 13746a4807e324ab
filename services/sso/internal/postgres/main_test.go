package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/postgres"
)

// The package's tests share one database of their own, created on the
// primary by the first test that needs it (it reaches the replica by
// streaming replication), migrated, and dropped when the package is done.
// The real sso database is never touched.
var shared struct {
	once     sync.Once
	drop     func() error
	primary  *sqlx.DB
	replica  *sqlx.DB
	setupErr error
}

// keyRing seals the data keys of the Users built with withKeys.
var keyRing = func() *sealbox.Ring {
	line, err := sealbox.NewKeyLine("test")
	if err != nil {
		panic(err)
	}
	r, err := sealbox.Parse([]byte(line))
	if err != nil {
		panic(err)
	}
	return r
}()

// withKeys gives a Users that writes events its data keys.
var withKeys = postgres.WithDataKeys(keyRing)

func TestMain(m *testing.M) {
	m.Run()
	if shared.primary != nil {
		shared.primary.Close()
	}
	if shared.replica != nil {
		shared.replica.Close()
	}
	if shared.drop != nil {
		if err := shared.drop(); err != nil {
			fmt.Println(err)
		}
	}
}

// testDB returns pools on the primary and on the replica of the package's
// migrated test database.
func testDB(tb testing.TB) (primary, replica *sqlx.DB) {
	tb.Helper()
	testenv.Require(tb, testenv.HostPort(testenv.PGPrimaryDSN), testenv.HostPort(testenv.PGReplicaDSN))
	shared.once.Do(func() { shared.setupErr = setup() })
	if shared.setupErr != nil {
		tb.Fatalf("test database: %v", shared.setupErr)
	}
	return shared.primary, shared.replica
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, drop, err := testenv.CreateDatabase(ctx, "sso_test")
	if err != nil {
		return err
	}
	shared.drop = drop

	if shared.primary, err = sqlx.Open("postgres", testenv.WithDatabase(testenv.PGPrimaryDSN, name)); err != nil {
		return err
	}
	if shared.replica, err = sqlx.Open("postgres", testenv.WithDatabase(testenv.PGReplicaDSN, name)); err != nil {
		return err
	}
	if err := postgres.Migrate(ctx, shared.primary, 0); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// The database and its schema reach the replica by replication.
	var lastErr error
	if !testenv.Eventually(30*time.Second, 50*time.Millisecond, func() bool {
		_, lastErr = shared.replica.ExecContext(ctx, "SELECT 1 FROM outbox LIMIT 0")
		return lastErr == nil
	}) {
		return fmt.Errorf("schema never reached the replica: %w", lastErr)
	}
	return nil
}
