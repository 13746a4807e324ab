package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/ssokit/platform/services/sso/internal/audit"
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

// Config holds the token lifetimes and throttling limits the use cases
// enforce.
type Config struct {
	// AccessTTL is how long an access token is valid.
	AccessTTL time.Duration
	// RefreshTTL is how long a refresh token family lives without use.
	RefreshTTL time.Duration
	// FamilyTTL is how long a refresh token family lives from login,
	// however often it is refreshed. Both TTLs must be positive: the
	// session store refuses to start a family without them.
	FamilyTTL time.Duration

	// Limits throttle logins and registrations.
	Limits Limits

	// Account configures the account life cycle: verification, reset,
	// change; zero fields take the defaults of AccountConfig.
	Account AccountConfig
}

// Limits are the throttling policy. Every attempt is counted before its
// password is hashed, so concurrency cannot get more hashes done than the
// limits allow; an attempt that turns out not to count (a successful login,
// or one that failed for want of a dependency) is then given back.
//
// Logins are counted three ways within LoginWindow, and refused while any
// count is at its limit, even with the right password:
//
//   - per account and client address (LoginAccountAddress): an attacker
//     guessing at an account from one address is stopped there, without
//     locking out the owner, who logs in from another address;
//   - per account from every address (LoginAccount, higher): an account
//     under attack from many addresses is closed to everyone until the
//     window ends, so a botnet gets at most this many guesses per window
//     (NIST SP 800-63B caps it at 100);
//   - per client address over every account (LoginAddress): one address
//     spraying passwords over many accounts.
//
// A successful login forgets its address's failures on the account and
// gives back its own attempt to the other two counts.
//
// Registrations are counted per client address within RegisterWindow
// (RegisterAddress), whatever their outcome: each costs a hash, a welcome
// mail and a loyalty bonus.
type Limits struct {
	LoginAccountAddress int
	LoginAccount        int
	LoginAddress        int
	LoginWindow         time.Duration
	RegisterAddress     int
	RegisterWindow      time.Duration
}

func (l Limits) check() error {
	if min(l.LoginAccountAddress, l.LoginAccount, l.LoginAddress, l.RegisterAddress) < 1 || l.LoginWindow <= 0 || l.RegisterWindow <= 0 {
		return fmt.Errorf("auth: every limit and window must be positive, got %+v", l)
	}
	return nil
}

// lifetime is the bound of refresh-token families under c.
func (c Config) lifetime() Lifetime { return Lifetime{Idle: c.RefreshTTL, Absolute: c.FamilyTTL} }

// Deps are the ports a Service works through. Every one is required.
type Deps struct {
	Users    Users
	Accounts Accounts
	Sessions Sessions
	// Throttle counts attempts against Config.Limits.
	Throttle Throttle
	Hasher   Hasher
	Signer   Signer
	Policy   PasswordPolicy
	// Directory serves the admin use cases; nil: they fail.
	Directory Directory
	// Audit stores the audit entries of security events that change no
	// row; nil: they are not recorded.
	Audit AuditRecorder
	// AuditLog serves ListAuditEvents; nil: it fails.
	AuditLog AuditLog
}

func (d Deps) check() error {
	for _, dep := range []struct {
		name string
		set  bool
	}{
		{"Users", d.Users != nil},
		{"Accounts", d.Accounts != nil},
		{"Sessions", d.Sessions != nil},
		{"Throttle", d.Throttle != nil},
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
	accounts Accounts
	sessions Sessions
	throttle Throttle
	hasher   Hasher
	signer   Signer
	policy   PasswordPolicy
	// directory is nil without Deps.Directory.
	directory Directory
	// audit and auditLog are nil without Deps.Audit and Deps.AuditLog.
	audit    AuditRecorder
	auditLog AuditLog
	cfg      Config
	log      *slog.Logger
	metrics  *Metrics // nil: not counted
	// work tracks what runs after its request answered (see Drain).
	work sync.WaitGroup

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
	if err := cfg.Limits.check(); err != nil {
		return nil, err
	}
	cfg.Account = cfg.Account.withDefaults()
	if err := cfg.Account.check(); err != nil {
		return nil, err
	}
	dummy, err := deps.Hasher.Hash("timing-equaliser-" + uuid.NewString())
	if err != nil {
		return nil, fmt.Errorf("dummy hash: %w", err)
	}
	s := &Service{
		users: deps.Users, accounts: deps.Accounts, sessions: deps.Sessions, throttle: deps.Throttle,
		hasher: deps.Hasher, signer: deps.Signer, policy: deps.Policy, directory: deps.Directory, audit: deps.Audit, auditLog: deps.AuditLog, cfg: cfg, log: log, dummyHash: dummy,
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

// Registration is the input of Register. ClientIP scopes the
// per-address limit; empty disables it for this call.
type Registration struct {
	Email    string
	Password string
	FullName string
	ClientIP string
	// UserAgent is the client's User-Agent, recorded with the session.
	UserAgent string
}

// maxFullNameRunes bounds the display name; longer is a client error, not
// something to truncate silently.
const maxFullNameRunes = 200

// Register creates an account and logs it in: the user needs no separate
// login after registering, even when logins require a verified address
// (the tokens it returns say email_verified false). The UserRegistered
// event and the EmailVerificationRequested event with the user's first
// verification token are stored with the user, in the same transaction,
// by Accounts.CreateWithToken. Too many registrations
// from one client address answer ThrottledError until the window passes;
// valid input counts, whether or not the e-mail is taken.
func (s *Service) Register(ctx context.Context, r Registration) (Tokens, error) {
	u, err := s.createAccount(ctx, r)
	if err != nil {
		return Tokens{}, err
	}
	return s.startSession(ctx, u, Origin{ClientAddress: r.ClientIP, UserAgent: r.UserAgent})
}

// createAccount is Register up to its session: the input checks, the
// throttle, the password hash and the account with its verification
// token.
func (s *Service) createAccount(ctx context.Context, r Registration) (user.User, error) {
	email, err := user.NormalizeEmail(r.Email)
	if err != nil {
		return user.User{}, invalid("email", err.Error())
	}
	name, err := cleanFullName(r.FullName)
	if err != nil {
		return user.User{}, err
	}
	if err := s.policy.Check(r.Password, email); err != nil {
		return user.User{}, invalid("password", err.Error())
	}
	var quotas []Quota
	if r.ClientIP != "" {
		quotas = []Quota{{Key: "register:address:" + r.ClientIP, Limit: s.cfg.Limits.RegisterAddress, Window: s.cfg.Limits.RegisterWindow}}
	}
	if err := s.reserve(ctx, opRegister, quotas); err != nil {
		return user.User{}, err
	}
	hash, err := s.hasher.Hash(r.Password)
	if err != nil {
		s.release(ctx, quotas, nil)
		return user.User{}, fmt.Errorf("hash password: %w", err)
	}
	u := user.User{
		ID:           uuid.NewString(),
		Email:        email,
		FullName:     name,
		PasswordHash: hash,
		CreatedAt:    time.Now().UTC().Truncate(time.Microsecond), // what PostgreSQL stores
		EventStatus:  user.EventInProgress,
	}
	verify, err := s.newToken(u.ID, user.PurposeEmailVerification)
	if err != nil {
		s.release(ctx, quotas, nil)
		return user.User{}, err
	}
	if err := s.accounts.CreateWithToken(ctx, u, verify); err != nil {
		if !errors.Is(err, user.ErrEmailTaken) {
			// Not the client's doing: the attempt does not count. A
			// taken e-mail does, or registering would test addresses
			// for accounts without limit.
			s.release(ctx, quotas, nil)
		}
		return user.User{}, err
	}
	return u, nil
}

// Credentials is the input of Login. ClientIP is the client's address,
// which the per-address limits count; empty (a call from inside the
// process) skips the per-address limit.
type Credentials struct {
	Email    string
	Password string
	ClientIP string
	// UserAgent is the client's User-Agent, recorded with the session.
	UserAgent string
}

// Login checks credentials and opens a new refresh-token family. Every
// failure is the same ErrInvalidCredentials, after the same password-hash
// work whether or not the e-mail has an account; too many failures (see
// Limits) answer ThrottledError, even for the right password, until the
// window passes, without hashing anything.
func (s *Service) Login(ctx context.Context, c Credentials) (Tokens, error) {
	t, err := s.login(ctx, c)
	s.metrics.login(err)
	return t, err
}

func (s *Service) login(ctx context.Context, c Credentials) (Tokens, error) {
	u, checked, err := s.checkCredentials(ctx, c)
	if err != nil {
		return Tokens{}, err
	}
	t, err := s.startSession(ctx, u, Origin{ClientAddress: c.ClientIP, UserAgent: c.UserAgent, CheckedAt: checked})
	if errors.Is(err, ErrSessionsEnded) {
		// The password checked may be one just replaced.
		return Tokens{}, ErrInvalidCredentials
	}
	return t, err
}

// checkCredentials is Login up to its session: the input checks, the
// throttle, the password and the account's state. It returns the user and
// when its password hash was read (Origin.CheckedAt).
func (s *Service) checkCredentials(ctx context.Context, c Credentials) (user.User, time.Time, error) {
	email, err := user.NormalizeEmail(c.Email)
	if err != nil {
		return user.User{}, time.Time{}, invalid("email", err.Error())
	}
	if c.Password == "" {
		return user.User{}, time.Time{}, invalid("password", "password is required")
	}
	if err := s.policy.CheckLength(c.Password); err != nil {
		return user.User{}, time.Time{}, invalid("password", err.Error())
	}
	quotas := s.loginQuotas(email, c.ClientIP)
	if err := s.reserveLogin(ctx, email, c.ClientIP, quotas); err != nil {
		return user.User{}, time.Time{}, err
	}

	// Taken before the password hash is read: a RevokeUser after this
	// moment (a password reset) may have replaced the hash this login
	// checks, and its session must then not start.
	checked := time.Now()
	// From the primary: a replica's copy a few milliseconds old would
	// still take a password just reset or changed.
	u, err := s.accounts.CurrentByEmail(ctx, email)
	switch {
	case errors.Is(err, user.ErrNotFound):
		_, _, _ = s.hasher.Verify(c.Password, s.dummyHash)
		return user.User{}, time.Time{}, ErrInvalidCredentials
	case err != nil:
		s.release(ctx, quotas, nil)
		return user.User{}, time.Time{}, err
	}
	ok, rehash, err := s.hasher.Verify(c.Password, u.PasswordHash)
	if err != nil {
		s.release(ctx, quotas, nil)
		return user.User{}, time.Time{}, fmt.Errorf("verify password of user %s: %w", u.ID, err)
	}
	if !ok {
		return user.User{}, time.Time{}, ErrInvalidCredentials
	}
	// The address proved it knows the password: its failures on this
	// account are forgotten. Failures from elsewhere still count.
	s.release(ctx, quotas[1:], quotas[:1])
	if rehash {
		s.upgradeHash(ctx, u.ID, c.Password)
	}
	// A disabled account gets the answer of a wrong password, and only
	// after the password check: the answer tells nobody whether the
	// account exists, and the password holder only that it cannot log in.
	if u.Disabled {
		return user.User{}, time.Time{}, ErrInvalidCredentials
	}
	// Only now, to a caller who knows the password, may the answer tell
	// that the account exists and is not verified.
	if s.cfg.Account.RequireVerifiedEmail && !u.EmailVerified {
		return user.User{}, time.Time{}, ErrEmailNotVerified
	}
	return u, checked, nil
}

// Throttled operations and scopes, as the metrics label them; the scopes
// are in the order of the quotas of loginQuotas.
const (
	opLogin    = "login"
	opRegister = "register"
)

var loginScopes = [...]string{"account_address", "account", "address"}

// loginQuotas are the counts a login attempt is made against, the
// per-(account, address) one first: see Limits. An unknown address (a
// call from inside the process) shares one per-account count and skips the
// per-address one.
func (s *Service) loginQuotas(email, clientIP string) []Quota {
	l := s.cfg.Limits
	qs := []Quota{
		// An address never contains "/", so the pair cannot be confused
		// with another.
		{Key: "login:account-address:" + clientIP + "/" + email, Limit: l.LoginAccountAddress, Window: l.LoginWindow},
		{Key: "login:account:" + email, Limit: l.LoginAccount, Window: l.LoginWindow},
	}
	if clientIP != "" {
		qs = append(qs, Quota{Key: "login:address:" + clientIP, Limit: l.LoginAddress, Window: l.LoginWindow})
	}
	return qs
}

// reserve counts an attempt of op against quotas, or returns the
// ThrottledError that refuses it.
func (s *Service) reserve(ctx context.Context, op string, quotas []Quota) error {
	r, err := s.throttle.Reserve(ctx, quotas...)
	if err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	if r.Refused < 0 {
		return nil
	}
	scope := "address"
	switch {
	case op == opLogin:
		scope = loginScopes[r.Refused]
	case (op == opResend || op == opForgot) && r.Refused == 0:
		// Their quotas put the account first, the address second.
		scope = "account"
	}
	s.metrics.throttled(op, scope)
	return &ThrottledError{Op: op, RetryAfter: r.RetryAfter, key: quotas[r.Refused].Key, scope: scope}
}

// reserveLogin is reserve for an attempt that checks email's password (a
// login, or a change or deletion that re-confirms it); a refusal that trips
// a limit is recorded in the audit log (loginBurst).
func (s *Service) reserveLogin(ctx context.Context, email, clientIP string, quotas []Quota) error {
	err := s.reserve(ctx, opLogin, quotas)
	if te := (*ThrottledError)(nil); errors.As(err, &te) {
		s.loginBurst(ctx, email, clientIP, te)
	}
	return err
}

// release gives back the attempts of refund and forgets those of forget.
// It runs even when the client has gone (the attempt must not stay counted
// as a failure), and a failure is logged, not returned: the counts expire
// with their window anyway.
func (s *Service) release(ctx context.Context, refund, forget []Quota) {
	keys := func(qs []Quota) []string {
		out := make([]string, len(qs))
		for i, q := range qs {
			out[i] = q.Key
		}
		return out
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if err := s.throttle.Release(ctx, keys(refund), keys(forget)); err != nil {
		s.log.WarnContext(ctx, "release throttle attempts", slog.Any("error", err))
	}
}

// releaseTimeout bounds a release that runs after its client has gone.
const releaseTimeout = 5 * time.Second

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
// its whole family (ErrRefreshReused): someone else holds a copy. A family
// older than Config.FamilyTTL no longer refreshes (ErrInvalidToken): the
// user logs in again.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	if refreshToken == "" {
		return Tokens{}, invalid("refresh_token", "refresh_token is required")
	}
	old := token.HashRefresh(refreshToken)
	// The account is read before the rotation, not after it: a read that
	// failed after the rotation (the database failing over) would answer
	// 503 to a client whose token had just been rotated away, and the
	// client's retry would then end its session as a reuse. Read first, a
	// failure leaves the token as it was. A token Find does not know
	// (unknown, expired, or rotated away) goes on to Rotate, which tells
	// a reuse apart and ends its family.
	var u user.User
	if cur, err := s.sessions.Find(ctx, old); err == nil {
		if u, err = s.sessionUser(ctx, cur); err != nil {
			return Tokens{}, err
		}
	} else if !errors.Is(err, ErrInvalidToken) {
		return Tokens{}, err
	}
	raw, hash, err := token.NewRefresh()
	if err != nil {
		return Tokens{}, err
	}
	sess, err := s.sessions.Rotate(ctx, old, hash, s.cfg.lifetime())
	if err != nil {
		if errors.Is(err, ErrRefreshReused) {
			s.metrics.reuse()
			s.log.WarnContext(ctx, "refresh token reuse detected; family revoked", slog.String("user_id", sess.UserID))
			// Whoever presented the token is not known: the legitimate
			// client retrying or a thief, so the actor is anonymous.
			if err := s.recordAudit(ctx, audit.Entry{Actor: audit.Anonymous(), Action: audit.ActionRefreshTokenReuse,
				TargetID: sess.UserID, Outcome: audit.OutcomeRefused}); err != nil {
				s.log.WarnContext(ctx, "audit refresh token reuse", slog.Any("error", err))
			}
		}
		return Tokens{}, err
	}
	if u.ID != sess.UserID {
		// Find did not know a token Rotate did, which a family's own
		// consistency rules out; read the account rather than trust that.
		if u, err = s.sessionUser(ctx, sess); err != nil {
			return Tokens{}, err
		}
	}
	access, _, err := s.issueAccess(u, sess.Family)
	if err != nil {
		return Tokens{}, err
	}
	s.metrics.refresh()
	s.metrics.tokenPair()
	return Tokens{UserID: u.ID, AccessToken: access, RefreshToken: raw, ExpiresIn: s.cfg.AccessTTL}, nil
}

// sessionUser reads the account of a session about to be refreshed. A
// deleted or disabled account ends the session (ErrInvalidToken):
// disabling ended the user's sessions already, and a family that slipped
// past (read while the flag was being written) ends here rather than get
// a token for a disabled account.
func (s *Service) sessionUser(ctx context.Context, sess Session) (user.User, error) {
	u, err := s.users.ByID(ctx, sess.UserID)
	if errors.Is(err, user.ErrNotFound) || err == nil && u.Disabled {
		s.log.InfoContext(ctx, "refresh refused: the account is deleted or disabled; its session ends",
			slog.String("user_id", sess.UserID), slog.Bool("found", err == nil))
		if s.sessions.Revoke(ctx, sess.Family) == nil {
			s.metrics.revoke(kindFamily)
		}
		return user.User{}, ErrInvalidToken
	}
	return u, err
}

// Logout ends the session of refreshToken: its whole family is revoked,
// whether the token presented is the family's current one or one already
// rotated away (holding either proves the caller had the session, and
// ending it is the safe side). The refresh token alone is enough, so a
// client idle past its access token's lifetime can still log out.
//
// An unknown, expired or already revoked refresh token is not an error
// (RFC 7009, section 2.2): logging out twice succeeds, and the answer does
// not tell which tokens exist. accessToken, when the caller sent one, is
// revoked too until it expires if it is valid, and ignored otherwise: a
// client may well send an access token that expired while it was idle.
func (s *Service) Logout(ctx context.Context, accessToken, refreshToken string) error {
	if refreshToken == "" {
		return invalid("refresh_token", "refresh_token is required")
	}
	_, err := s.sessions.RevokeByToken(ctx, token.HashRefresh(refreshToken))
	switch {
	case errors.Is(err, ErrInvalidToken):
	case err != nil:
		return err
	default:
		s.metrics.revoke(kindFamily)
	}
	if accessToken == "" {
		return nil
	}
	claims, err := s.Authenticate(ctx, accessToken)
	switch {
	case errors.Is(err, ErrInvalidToken):
		return nil
	case err != nil:
		return err
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
// when there is none, ErrInvalidToken when it is forged, expired or revoked,
// or its session has ended.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (token.Claims, error) {
	if accessToken == "" {
		return token.Claims{}, ErrUnauthenticated
	}
	c, err := s.signer.Verify(accessToken)
	if err != nil {
		return token.Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if c.SessionID == "" {
		// Issued before tokens named their session: no revocation of
		// a user's sessions could reach it.
		return token.Claims{}, ErrInvalidToken
	}
	revoked, err := s.sessions.AccessRevoked(ctx, c.ID, c.SessionID)
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
	// The user's own account, just changed perhaps (verified, a new
	// password): read it where its changes are.
	u, err := s.accounts.Current(ctx, c.Subject)
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

// endUserSessions ends every session of userID, refresh and access tokens
// alike, and counts them under reason (one of the Reason constants). A
// login racing it starts no session (see Origin.CheckedAt); a session
// started afterwards by the caller itself, with no CheckedAt, does.
func (s *Service) endUserSessions(ctx context.Context, userID, reason string) (int, error) {
	n, err := s.sessions.RevokeUser(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("end sessions of user %s: %w", userID, err)
	}
	s.metrics.sessionsEnded(reason, n)
	return n, nil
}

// startSession opens a refresh-token family for u and issues the first
// pair; the access token names the family.
func (s *Service) startSession(ctx context.Context, u user.User, o Origin) (Tokens, error) {
	sess := Session{Family: uuid.NewString(), UserID: u.ID}
	access, _, err := s.issueAccess(u, sess.Family)
	if err != nil {
		return Tokens{}, err
	}
	raw, hash, err := token.NewRefresh()
	if err != nil {
		return Tokens{}, err
	}
	o.ClientAddress, o.UserAgent = cleanAddress(o.ClientAddress), cleanUserAgent(o.UserAgent)
	if err := s.sessions.Start(ctx, sess, hash, s.cfg.lifetime(), o); err != nil {
		return Tokens{}, err
	}
	s.metrics.tokenPair()
	return Tokens{UserID: u.ID, AccessToken: access, RefreshToken: raw, ExpiresIn: s.cfg.AccessTTL}, nil
}

func (s *Service) issueAccess(u user.User, family string) (string, token.Claims, error) {
	raw, c, err := s.signer.Issue(token.Claims{Subject: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Admin: u.IsAdmin, SessionID: family})
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

// Bounds of what a session records about its client: enough to recognize
// a browser or an app, not a place to store a client's essay.
const (
	maxUserAgentRunes = 256
	maxAddressBytes   = 64
)

// cleanUserAgent makes a User-Agent safe to store and show back: valid
// UTF-8, no control characters, runs of white space as one space, at most
// maxUserAgentRunes.
func cleanUserAgent(ua string) string {
	ua = strings.ToValidUTF8(ua, "\uFFFD")
	var b strings.Builder
	n, space := 0, false
	for _, r := range strings.TrimSpace(ua) {
		if n == maxUserAgentRunes {
			break
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
			if n == maxUserAgentRunes {
				break
			}
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// cleanAddress keeps a client address only if it is a plain address of
// bounded length (the transport derives it; this is a second fence).
func cleanAddress(a string) string {
	if len(a) > maxAddressBytes {
		return ""
	}
	for _, r := range a {
		if !(r == '.' || r == ':' || r == '%' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return ""
		}
	}
	return a
}
