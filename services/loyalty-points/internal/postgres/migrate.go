package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the loyalty schema on db up to date; it is safe to call
// from several processes at once (see package migrate).
func Migrate(ctx context.Context, db *sqlx.DB) error {
	files, err := migrate.FromFS(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if _, err := migrate.Run(ctx, db, files); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}
