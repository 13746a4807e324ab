package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// AccountDeletion is the input of DeleteAccount.
type AccountDeletion struct {
	AccessToken string
	// Password re-confirms the bearer: a stolen access token alone must
	// not be enough to destroy an account.
	Password string
	ClientIP string
}

// DeleteAccount deletes the account of the access token's bearer, who
// proves its password again. A wrong password is ErrInvalidCredentials and
// counts against the login limits exactly as a failed login does, so the
// endpoint is no side door for guessing passwords. Then DeleteUser.
func (s *Service) DeleteAccount(ctx context.Context, d AccountDeletion) error {
	err := s.deleteAccount(ctx, d)
	s.metrics.flow("delete_account", err)
	return err
}

func (s *Service) deleteAccount(ctx context.Context, d AccountDeletion) error {
	u, err := s.Me(ctx, d.AccessToken)
	if err != nil {
		return err
	}
	if d.Password == "" {
		return invalid("password", "password is required")
	}
	if err := s.policy.CheckLength(d.Password); err != nil {
		return invalid("password", err.Error())
	}
	quotas := s.loginQuotas(u.Email, d.ClientIP)
	if err := s.reserveLogin(ctx, u.Email, d.ClientIP, quotas); err != nil {
		return err
	}
	ok, _, err := s.hasher.Verify(d.Password, u.PasswordHash)
	if err != nil {
		s.release(ctx, quotas, nil)
		return fmt.Errorf("verify password of user %s: %w", u.ID, err)
	}
	if !ok {
		return ErrInvalidCredentials
	}
	s.release(ctx, quotas[1:], quotas[:1])
	if err := s.DeleteUser(ctx, u.ID, audit.Self(u.ID)); err != nil {
		if errors.Is(err, user.ErrNotFound) {
			// A concurrent deletion won: this token's account is gone.
			return ErrInvalidToken
		}
		return err
	}
	return nil
}

// DeleteUser deletes the account userID on behalf of by (the user itself,
// or an administrator): sso's copy of its personal data goes in one
// transaction that also stores the UserDeleted event, which has the other
// services erase theirs, and the deletion's audit entry; then every
// session of the user ends. The
// caller has authorized the deletion. It returns user.ErrNotFound when no
// such user exists.
//
// A failure to end the sessions is returned although the account is gone,
// so the caller retries or logs out everywhere: until then the access
// tokens pass Validate (not Me, which finds no account) for at most their
// remaining lifetime, and a refresh finds no account and ends its family.
func (s *Service) DeleteUser(ctx context.Context, userID string, by audit.Actor) error {
	id, err := uuid.Parse(userID)
	if err != nil {
		return user.ErrNotFound
	}
	if err := s.accounts.Delete(ctx, id.String(), by); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "account deleted", slog.String("user_id", id.String()), slog.String("actor", by.ID), slog.String("actor_kind", string(by.Kind)))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if _, err := s.endUserSessions(ctx, id.String(), ReasonAccountDeleted); err != nil {
		s.log.ErrorContext(ctx, "account deleted but its sessions could not be ended", slog.String("user_id", id.String()), slog.Any("error", err))
		return err
	}
	return nil
}
