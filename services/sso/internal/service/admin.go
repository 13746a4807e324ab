package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ssokit/platform/libs/bootstrap"
	"github.com/ssokit/platform/services/sso/internal/config"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/postgres"
	ssoredis "github.com/ssokit/platform/services/sso/internal/redis"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// AdminCommand is `sso admin grant EMAIL` (grant true) or `sso admin revoke
// EMAIL`: it sets the administrator role of the account with the e-mail in
// the configured database, for the first administrator, who has nobody to
// ask through the API, and for an operator locked out of it. It is
// idempotent; an unknown address fails. A revocation also ends the user's
// sessions in the configured Redis, as the API's does, since access tokens
// carry the role.
func AdminCommand(grant bool) bootstrap.Command[config.Config] {
	name := "admin revoke"
	if grant {
		name = "admin grant"
	}
	var email string
	return bootstrap.Command[config.Config]{
		Name: name,
		Args: func(args []string) error {
			if len(args) != 1 {
				return errors.New("want exactly one argument, the account's e-mail address")
			}
			e, err := user.NormalizeEmail(args[0])
			if err != nil {
				return err
			}
			email = e
			return nil
		},
		Run: func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
			return setAdmin(ctx, cfg, log, email, grant)
		},
	}
}

func setAdmin(ctx context.Context, cfg config.Config, log *slog.Logger, email string, grant bool) error {
	db, err := bootstrap.OpenDB(cfg.DB.PrimaryDSN, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	// The audit entry waits in the outbox for a running sso's relay to
	// publish it: this command has no Kafka producer of its own.
	users := postgres.NewUsers(db, nil, nil, postgres.WithAuditEvents(outbox.AuditEvents(cfg.Audit.Topic)))
	id, unchanged, err := users.SetAdminByEmail(ctx, email, grant)
	if errors.Is(err, user.ErrNotFound) {
		return errors.New("no account has this e-mail address")
	}
	if err != nil {
		return err
	}
	// The e-mail stays out of the log: the id names the account.
	role := slog.Bool("is_admin", grant)
	if unchanged {
		log.InfoContext(ctx, "administrator role already as asked; nothing changed", slog.String("user_id", id), role)
	} else {
		log.InfoContext(ctx, "administrator role changed", slog.String("user_id", id), role)
	}
	if grant {
		return nil
	}
	// Even when unchanged: a revocation run again after a failed session
	// revocation must still end them.
	rdb := newRedis(cfg.Redis)
	defer rdb.Close()
	n, err := ssoredis.NewSessions(rdb, cfg.Redis.KeyPrefix, ssoredis.WaitForReplica(cfg.Redis.ReplicaAckTimeout)).RevokeUser(ctx, id)
	if err != nil {
		return fmt.Errorf("role revoked, but ending the user's sessions failed (run the command again): %w", err)
	}
	log.InfoContext(ctx, "sessions of the user ended", slog.String("user_id", id), slog.Int("sessions", n))
	return nil
}
