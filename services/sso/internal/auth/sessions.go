package auth

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// SessionView is a session as the sessions API shows it to its user.
type SessionView struct {
	SessionInfo
	// Current marks the session of the access token that asked.
	Current bool
}

// ListSessions returns the live sessions of the access token's bearer,
// newest first; Current marks the token's own.
func (s *Service) ListSessions(ctx context.Context, accessToken string) ([]SessionView, error) {
	c, err := s.Authenticate(ctx, accessToken)
	if err != nil {
		return nil, err
	}
	infos, err := s.sessions.List(ctx, c.Subject)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out := make([]SessionView, len(infos))
	for i, info := range infos {
		out[i] = SessionView{SessionInfo: info, Current: info.Family == c.SessionID}
	}
	return out, nil
}

// EndSession ends one of the bearer's sessions: its refresh tokens and the
// access tokens issued from it stop working at once. An id that names no
// live session of the bearer (unknown, ended, malformed, or another
// user's) is ErrSessionNotFound, the same answer in every case, so the
// endpoint tells nobody which ids exist. Ending the caller's own session
// is allowed: it is a logout by id.
func (s *Service) EndSession(ctx context.Context, accessToken, id string) error {
	c, err := s.Authenticate(ctx, accessToken)
	if err != nil {
		return err
	}
	family, err := uuid.Parse(id)
	if err != nil || len(id) != len(family.String()) {
		return ErrSessionNotFound
	}
	ended, err := s.sessions.RevokeOwned(ctx, c.Subject, family.String())
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	if !ended {
		return ErrSessionNotFound
	}
	s.metrics.sessionsEnded(ReasonSessionDeleted, 1)
	return nil
}

// EndAllSessions logs the bearer out everywhere, the session of the asking
// token included, and returns how many sessions ended.
func (s *Service) EndAllSessions(ctx context.Context, accessToken string) (int, error) {
	c, err := s.Authenticate(ctx, accessToken)
	if err != nil {
		return 0, err
	}
	return s.endUserSessions(ctx, c.Subject, ReasonRevokeAll)
}
