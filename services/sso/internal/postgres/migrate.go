package postgres

import (
	"context"
	"embed"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/migrate"
)

// DefaultPartitions is the number of hash partitions of users when Migrate
// is given 0.
const DefaultPartitions = 8

// MaxPartitions bounds the partition count, so that a typo cannot create
// thousands of tables.
const MaxPartitions = 1024

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the sso schema on primary up to date; it is safe to call
// from several processes at once (see package migrate).
//
// partitions is the number of hash partitions of users (0 means
// DefaultPartitions). It takes effect only when users is created: later
// calls with another count keep the existing partitions, because changing
// the count means moving every row, which needs a data migration of its
// own.
func Migrate(ctx context.Context, primary *sqlx.DB, partitions int) error {
	if partitions == 0 {
		partitions = DefaultPartitions
	}
	if partitions < 1 || partitions > MaxPartitions {
		return fmt.Errorf("postgres: users partitions %d out of range 1..%d", partitions, MaxPartitions)
	}
	files, err := migrate.FromFS(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if _, err := migrate.Run(ctx, primary, append([]migrate.Migration{usersTable(partitions)}, files...)); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// usersTable is migration 1, in Go because SQL files take no parameters:
// users, hash-partitioned by e-mail (the key of almost every lookup) into n
// partitions users_p0 .. users_p<n-1>. The partition key must be part of
// every unique constraint, and the e-mail is the identity, so it is the
// primary key; user_ids resolves ids. The count is deliberately not in the
// migration's name: the name is checked on every start, the count is not.
func usersTable(n int) migrate.Migration {
	return migrate.Migration{
		Version: 1,
		Name:    "users",
		Up: func(ctx context.Context, tx *sqlx.Tx) error {
			var script strings.Builder
			script.WriteString(`CREATE TABLE users (
				id            uuid NOT NULL,
				email         text NOT NULL,
				full_name     text NOT NULL DEFAULT '',
				password_hash text NOT NULL,
				is_admin      boolean NOT NULL DEFAULT false,
				created_at    timestamptz NOT NULL DEFAULT now(),
				updated_at    timestamptz NOT NULL DEFAULT now(),
				PRIMARY KEY (email)
			) PARTITION BY HASH (email);
			`)
			for i := range n {
				fmt.Fprintf(&script, "CREATE TABLE users_p%d PARTITION OF users FOR VALUES WITH (MODULUS %d, REMAINDER %d);\n", i, n, i)
			}
			_, err := tx.ExecContext(ctx, script.String())
			return err
		},
	}
}
