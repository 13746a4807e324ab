package auth

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ssokit/platform/services/sso/internal/token"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// SignedIn is the session a hosted sign-in opened.
type SignedIn struct {
	UserID string
	// SessionID is the session's id (the sid of the tokens issued in it).
	SessionID string
	// AuthTime is when the password was checked.
	AuthTime time.Time
}

// SignIn is Login for the hosted login pages: the same input checks,
// throttling, enumeration-safe answers and account rules, but the session
// it opens hands out no tokens to the browser. Its id is what the pages
// keep behind their cookie and what the OpenID Connect provider names in
// the tokens it issues to applications, so ending the session (logout,
// the sessions API, an administrator, a password reset) ends every
// application's sign-in at once.
func (s *Service) SignIn(ctx context.Context, c Credentials) (SignedIn, error) {
	in, err := s.signIn(ctx, c)
	s.metrics.login(err)
	return in, err
}

func (s *Service) signIn(ctx context.Context, c Credentials) (SignedIn, error) {
	u, checked, err := s.checkCredentials(ctx, c)
	if err != nil {
		return SignedIn{}, err
	}
	return s.startBrowserSession(ctx, u, Origin{ClientAddress: c.ClientIP, UserAgent: c.UserAgent, CheckedAt: checked})
}

// SignUp is Register for the hosted pages: the same input checks, password
// policy, per-address throttle, taken-address answer (user.ErrEmailTaken,
// which the API answers 409) and verification mail, but the session it
// opens hands out no tokens, as SignIn's. Like Register, it signs the new
// account in before its address is verified.
func (s *Service) SignUp(ctx context.Context, r Registration) (SignedIn, error) {
	u, err := s.createAccount(ctx, r)
	if err != nil {
		return SignedIn{}, err
	}
	// Nothing replaced the password of an account this new: CheckedAt is
	// the account's creation.
	return s.startBrowserSession(ctx, u, Origin{ClientAddress: r.ClientIP, UserAgent: r.UserAgent, CheckedAt: u.CreatedAt})
}

// startBrowserSession opens the session of a hosted sign-in for u.
func (s *Service) startBrowserSession(ctx context.Context, u user.User, o Origin) (SignedIn, error) {
	// The family needs a current token to exist; nobody is given this
	// one, so the session is refreshed only through the provider.
	_, hash, err := token.NewRefresh()
	if err != nil {
		return SignedIn{}, err
	}
	sess := Session{Family: uuid.NewString(), UserID: u.ID}
	o.ClientAddress, o.UserAgent = cleanAddress(o.ClientAddress), cleanUserAgent(o.UserAgent)
	switch err := s.sessions.Start(ctx, sess, hash, s.cfg.lifetime(), o); {
	case errors.Is(err, ErrSessionsEnded):
		// The password checked may be one just replaced.
		return SignedIn{}, ErrInvalidCredentials
	case err != nil:
		return SignedIn{}, err
	}
	return SignedIn{UserID: u.ID, SessionID: sess.Family, AuthTime: o.CheckedAt.UTC().Truncate(time.Second)}, nil
}

// SessionLive reports whether the session sid has not ended: not logged
// out, revoked, reused or expired. The hosted pages ask before they take a
// browser's cookie as a sign-in.
func (s *Service) SessionLive(ctx context.Context, sid string) (bool, error) {
	if sid == "" {
		return false, nil
	}
	// No access token has an empty jti, so only the family decides.
	revoked, err := s.sessions.AccessRevoked(ctx, "", sid)
	return !revoked, err
}
