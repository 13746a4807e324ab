package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/ssokit/platform/services/sso/internal/token"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// PasswordPolicy decides which new passwords are acceptable. Its errors are
// safe to show to the client.
type PasswordPolicy interface {
	// Check accepts or refuses a new password for the account email.
	Check(pw, email string) error
	// CheckLength refuses only passwords no policy could accept (too long
	// to be worth hashing); logins use it, so a user whose password
	// predates a policy change can still log in.
	CheckLength(pw string) error
}

// Config holds the token lifetimes the use cases enforce.
type Config struct {
	// AccessTTL is how long an access token is valid.
	AccessTTL time.Duration
	// RefreshTTL is how long a refresh token family lives without use.
	RefreshTTL time.Duration
}

// Deps are the ports a Service works through. Every one is required.
type Deps struct {
	Users    Users
	Sessions Sessions
	// AccountThrottle counts failed logins per e-mail and ClientThrottle
	// per client address; two counters because their limits differ: many
	// users can share one address (an office, a carrier NAT).
	AccountThrottle Throttle
	ClientThrottle  Throttle
	Hasher          Hasher
	Signer          Signer
	Policy          PasswordPolicy
}

func (d Deps) check() error {
	for _, dep := range []struct {
		name string
		set  bool
	}{
		{"Users", d.Users != nil},
		{"Sessions", d.Sessions != nil},
		{"AccountThrottle", d.AccountThrottle != nil},
		{"ClientThrottle", d.ClientThrottle != nil},
		{"Hasher", d.Hasher != nil},
		{"Signer", d.Signer != nil},
		{"Policy", d.Policy != nil},
	} {
		if !dep.set {
			return fmt.Errorf("auth: Deps.%s is required", dep.name)
		}
	}
	return nil
}

// Service is the set of sso use cases.
type Service struct {
	users    Users
	sessions Sessions
	accounts Throttle // per e-mail
	clients  Throttle // per client address
	hasher   Hasher
	signer   Signer
	policy   PasswordPolicy
	cfg      Config
	log      *slog.Logger
	metrics  *Metrics // nil: not counted

	// dummyHash is verified against when an e-mail is unknown, so a login
	// costs the same hash work whether or not the account exists, and the
	// hash, most of a login's time, does not tell which e-mails have
	// accounts. NewService makes it with Hasher.Hash, under the current
	// parameters, before the first login: made lazily, the first unknown
	// e-mail would cost two hashes.
	dummyHash string
}

// NewService wires the use cases to their ports.
func NewService(deps Deps, cfg Config, log *slog.Logger, opts ...Option) (*Service, error) {
	if err := deps.check(); err != nil {
		return nil, err
	}
	dummy, err := deps.Hasher.Hash("timing-equaliser-" + uuid.NewString())
	if err != nil {
		return nil, fmt.Errorf("dummy hash: %w", err)
	}
	s := &Service{
		users: deps.Users, sessions: deps.Sessions, accounts: deps.AccountThrottle, clients: deps.ClientThrottle,
		hasher: deps.Hasher, signer: deps.Signer, policy: deps.Policy, cfg: cfg, log: log, dummyHash: dummy,
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Tokens is what a successful register, login or refresh hands out.
type Tokens struct {
	UserID       string
	AccessToken  string
	RefreshToken string
	// ExpiresIn is the access token's lifetime.
	ExpiresIn time.Duration
}

// Registration is the input of Register.
type Registration struct {
	Email    string
	Password string
	FullName string
}

// maxFullNameRunes bounds the display name; longer is a client error, not
// something to truncate silently.
const maxFullNameRunes = 200

// Register creates an account and logs it in: the user needs no separate
// login after registering. The UserRegistered event is stored with the
// user, in the same transaction, by Users.Create.
func (s *Service) Register(ctx context.Context, r Registration) (Tokens, error) {
	email, err := user.NormalizeEmail(r.Email)
	if err != nil {
		return Tokens{}, invalid("email", err.Error())
	}
	name, err := cleanFullName(r.FullName)
	if err != nil {
		return Tokens{}, err
	}
	if err := s.policy.Check(r.Password, email); err != nil {
		return Tokens{}, invalid("password", err.Error())
	}
	hash, err := s.hasher.Hash(r.Password)
	if err != nil {
		return Tokens{}, fmt.Errorf("hash password: %w", err)
	}
	u := user.User{
		ID:           uuid.NewString(),
		Email:        email,
		FullName:     name,
		PasswordHash: hash,
		CreatedAt:    time.Now().UTC().Truncate(time.Microsecond), // what PostgreSQL stores
		EventStatus:  user.EventInProgress,
	}
	if err := s.users.Create(ctx, u); err != nil {
		return Tokens{}, err
	}
	return s.startSession(ctx, u)
}

// Credentials is the input of Login. ClientIP scopes the per-address
// throttle; empty disables it for this call.
type Credentials struct {
	Email    string
	Password string
	ClientIP string
}

// Login checks credentials and opens a new refresh-token family. Every
// failure is the same ErrInvalidCredentials, after the same password-hash
// work whether or not the e-mail has an account; too many failures for the
// account or the client address answer ThrottledError, even for the right
// password, until the window passes.
func (s *Service) Login(ctx context.Context, c Credentials) (Tokens, error) {
	t, err := s.login(ctx, c)
	s.metrics.login(err)
	return t, err
}

func (s *Service) login(ctx context.Context, c Credentials) (Tokens, error) {
	email, err := user.NormalizeEmail(c.Email)
	if err != nil {
		return Tokens{}, invalid("email", err.Error())
	}
	if c.Password == "" {
		return Tokens{}, invalid("password", "password is required")
	}
	if err := s.policy.CheckLength(c.Password); err != nil {
		return Tokens{}, invalid("password", err.Error())
	}
	if err := s.throttled(ctx, email, c.ClientIP); err != nil {
		return Tokens{}, err
	}

	u, err := s.users.ByEmail(ctx, email)
	switch {
	case errors.Is(err, user.ErrNotFound):
		_, _, _ = s.hasher.Verify(c.Password, s.dummyHash)
		return Tokens{}, s.failedLogin(ctx, email, c.ClientIP)
	case err != nil:
		return Tokens{}, err
	}
	ok, rehash, err := s.hasher.Verify(c.Password, u.PasswordHash)
	if err != nil {
		return Tokens{}, fmt.Errorf("verify password of user %s: %w", u.ID, err)
	}
	if !ok {
		return Tokens{}, s.failedLogin(ctx, email, c.ClientIP)
	}
	if err := s.accounts.Reset(ctx, email); err != nil {
		s.log.WarnContext(ctx, "reset login throttle", slog.Any("error", err))
	}
	if rehash {
		s.upgradeHash(ctx, u.ID, c.Password)
	}
	return s.startSession(ctx, u)
}

// throttled refuses a login while the account or the client address has
// too many recent failures.
func (s *Service) throttled(ctx context.Context, email, clientIP string) error {
	wait, err := s.accounts.Blocked(ctx, email)
	if err != nil {
		return err
	}
	if clientIP != "" {
		w, err := s.clients.Blocked(ctx, clientIP)
		if err != nil {
			return err
		}
		wait = max(wait, w)
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// failedLogin counts a failure against the account and the client address
// and returns the generic answer.
func (s *Service) failedLogin(ctx context.Context, email, clientIP string) error {
	if err := s.accounts.Failed(ctx, email); err != nil {
		return err
	}
	if clientIP != "" {
		if err := s.clients.Failed(ctx, clientIP); err != nil {
			return err
		}
	}
	return ErrInvalidCredentials
}

// upgradeHash re-hashes a password stored under outdated parameters. A
// failure is logged, not returned: the login itself succeeded, and the next
// one tries again.
func (s *Service) upgradeHash(ctx context.Context, userID, pw string) {
	hash, err := s.hasher.Hash(pw)
	if err == nil {
		err = s.users.SetPasswordHash(ctx, userID, hash)
	}
	if err != nil {
		s.log.WarnContext(ctx, "upgrade password hash", slog.String("user_id", userID), slog.Any("error", err))
		return
	}
	s.log.InfoContext(ctx, "password hash upgraded to current parameters", slog.String("user_id", userID))
}

// Refresh rotates a refresh token: the presented token stops working and a
// new pair is returned. Presenting a token that was already rotated revokes
// its whole family (ErrRefreshReused): someone else holds a copy.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	if refreshToken == "" {
		return Tokens{}, invalid("refresh_token", "refresh_token is required")
	}
	raw, hash, err := token.NewRefresh()
	if err != nil {
		return Tokens{}, err
	}
	sess, err := s.sessions.Rotate(ctx, token.HashRefresh(refreshToken), hash, s.cfg.RefreshTTL)
	if err != nil {
		if errors.Is(err, ErrRefreshReused) {
			s.metrics.reuse()
			s.log.WarnContext(ctx, "refresh token reuse detected; family revoked")
		}
		return Tokens{}, err
	}
	u, err := s.users.ByID(ctx, sess.UserID)
	if errors.Is(err, user.ErrNotFound) {
		if s.sessions.Revoke(ctx, sess.Family) == nil {
			s.metrics.revoke(kindFamily)
		}
		return Tokens{}, ErrInvalidToken
	}
	if err != nil {
		return Tokens{}, err
	}
	access, _, err := s.issueAccess(u)
	if err != nil {
		return Tokens{}, err
	}
	s.metrics.refresh()
	s.metrics.tokenPair()
	return Tokens{UserID: u.ID, AccessToken: access, RefreshToken: raw, ExpiresIn: s.cfg.AccessTTL}, nil
}

// Logout revokes the caller's access token until it expires and, when the
// refresh token belongs to the caller, its whole family. A refresh token
// that is already dead is not an error: logging out twice is harmless.
func (s *Service) Logout(ctx context.Context, accessToken, refreshToken string) error {
	claims, err := s.Authenticate(ctx, accessToken)
	if err != nil {
		return err
	}
	if refreshToken != "" {
		sess, err := s.sessions.Find(ctx, token.HashRefresh(refreshToken))
		switch {
		case errors.Is(err, ErrInvalidToken):
		case err != nil:
			return err
		case sess.UserID != claims.Subject:
			return ErrForbidden
		default:
			if err := s.sessions.Revoke(ctx, sess.Family); err != nil {
				return err
			}
			s.metrics.revoke(kindFamily)
		}
	}
	if err := s.sessions.RevokeAccess(ctx, claims.ID, claims.ExpiresAt); err != nil {
		return err
	}
	s.metrics.revoke(kindAccess)
	return nil
}

// Validation is the answer of Validate.
type Validation struct {
	Valid     bool
	UserID    string
	IsAdmin   bool
	ExpiresAt time.Time
}

// Validate reports whether an access token is genuine, unexpired and not
// revoked. A bad token is a valid question with a negative answer, not an
// error; errors mean the answer could not be found (Redis down).
func (s *Service) Validate(ctx context.Context, accessToken string) (Validation, error) {
	if accessToken == "" {
		return Validation{}, invalid("token", "token is required")
	}
	c, err := s.Authenticate(ctx, accessToken)
	switch {
	case errors.Is(err, ErrInvalidToken):
		return Validation{Valid: false}, nil
	case err != nil:
		return Validation{}, err
	}
	return Validation{Valid: true, UserID: c.Subject, IsAdmin: c.Admin, ExpiresAt: c.ExpiresAt}, nil
}

// Authenticate turns a bearer access token into its claims: ErrUnauthenticated
// when there is none, ErrInvalidToken when it is forged, expired or revoked.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (token.Claims, error) {
	if accessToken == "" {
		return token.Claims{}, ErrUnauthenticated
	}
	c, err := s.signer.Verify(accessToken)
	if err != nil {
		return token.Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	revoked, err := s.sessions.AccessRevoked(ctx, c.ID)
	if err != nil {
		return token.Claims{}, err
	}
	if revoked {
		return token.Claims{}, ErrInvalidToken
	}
	return c, nil
}

// Me returns the account of the access token's bearer.
func (s *Service) Me(ctx context.Context, accessToken string) (user.User, error) {
	c, err := s.Authenticate(ctx, accessToken)
	if err != nil {
		return user.User{}, err
	}
	u, err := s.users.ByID(ctx, c.Subject)
	if errors.Is(err, user.ErrNotFound) {
		return user.User{}, ErrInvalidToken
	}
	return u, err
}

// IsAdmin reports whether the user with the given id is an administrator,
// to the holder of accessToken: a user may ask about itself, an
// administrator about anyone. A non-administrator asking about another id
// gets ErrForbidden before the id is even parsed, so the answer never tells
// which ids exist.
func (s *Service) IsAdmin(ctx context.Context, accessToken, userID string) (bool, error) {
	c, err := s.Authenticate(ctx, accessToken)
	if err != nil {
		return false, err
	}
	if !c.Admin && !strings.EqualFold(c.Subject, userID) {
		return false, ErrForbidden
	}
	id, err := uuid.Parse(userID)
	if err != nil {
		return false, invalid("user_id", "user_id must be a UUID")
	}
	u, err := s.users.ByID(ctx, id.String())
	if err != nil {
		return false, err
	}
	return u.IsAdmin, nil
}

// startSession opens a refresh-token family for u and issues the first pair.
func (s *Service) startSession(ctx context.Context, u user.User) (Tokens, error) {
	access, _, err := s.issueAccess(u)
	if err != nil {
		return Tokens{}, err
	}
	raw, hash, err := token.NewRefresh()
	if err != nil {
		return Tokens{}, err
	}
	if err := s.sessions.Start(ctx, Session{Family: uuid.NewString(), UserID: u.ID}, hash, s.cfg.RefreshTTL); err != nil {
		return Tokens{}, err
	}
	s.metrics.tokenPair()
	return Tokens{UserID: u.ID, AccessToken: access, RefreshToken: raw, ExpiresIn: s.cfg.AccessTTL}, nil
}

func (s *Service) issueAccess(u user.User) (string, token.Claims, error) {
	raw, c, err := s.signer.Issue(token.Claims{Subject: u.ID, Email: u.Email, Admin: u.IsAdmin})
	if err != nil {
		return "", token.Claims{}, fmt.Errorf("issue access token: %w", err)
	}
	return raw, c, nil
}

// cleanFullName trims the display name and refuses what cannot be shown
// safely: invalid UTF-8, control characters, or more than maxFullNameRunes
// (counted as sent, white space included, as the API document states it).
func cleanFullName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalid("full_name", "full_name must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > maxFullNameRunes {
		return "", invalid("full_name", fmt.Sprintf("full_name must be at most %d characters", maxFullNameRunes))
	}
	s = strings.TrimSpace(s)
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", invalid("full_name", "full_name must not contain control characters")
		}
	}
	return s, nil
}
