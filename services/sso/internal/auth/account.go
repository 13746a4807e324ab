package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ssokit/platform/services/sso/internal/token"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// AccountConfig configures the account life cycle. Every limit counts
// within its window, whatever the outcome of the attempts.
type AccountConfig struct {
	// RequireVerifiedEmail refuses the login of an account whose address
	// is not verified (ErrEmailNotVerified, after the password checked).
	RequireVerifiedEmail bool
	// VerificationTTL and ResetTTL are the lifetimes of the mailed tokens
	// (default 24h and 30m).
	VerificationTTL time.Duration
	ResetTTL        time.Duration

	// ResendAccount and ResendAddress bound the verification mails one
	// account, and one client address, may ask for within ResendWindow
	// (default 3, 10, 1h): each is a mail to an address that may not be
	// the caller's.
	ResendAccount int
	ResendAddress int
	ResendWindow  time.Duration
	// ForgotAccount and ForgotAddress bound the reset requests for one
	// address (known or not), and from one client address, within
	// ForgotWindow (default 5, 20, 1h).
	ForgotAccount int
	ForgotAddress int
	ForgotWindow  time.Duration
	// ResetAddress bounds the password resets tried from one client
	// address within ResetWindow (default 20, 1h): each costs a password
	// hash.
	ResetAddress int
	ResetWindow  time.Duration
}

func (c AccountConfig) withDefaults() AccountConfig {
	dur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	n := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	dur(&c.VerificationTTL, 24*time.Hour)
	dur(&c.ResetTTL, 30*time.Minute)
	dur(&c.ResendWindow, time.Hour)
	dur(&c.ForgotWindow, time.Hour)
	dur(&c.ResetWindow, time.Hour)
	n(&c.ResendAccount, 3)
	n(&c.ResendAddress, 10)
	n(&c.ForgotAccount, 5)
	n(&c.ForgotAddress, 20)
	n(&c.ResetAddress, 20)
	return c
}

func (c AccountConfig) check() error {
	if min(c.ResendAccount, c.ResendAddress, c.ForgotAccount, c.ForgotAddress, c.ResetAddress) < 1 ||
		min(c.VerificationTTL, c.ResetTTL, c.ResendWindow, c.ForgotWindow, c.ResetWindow) <= 0 {
		return fmt.Errorf("auth: every account limit, window and TTL must be positive, got %+v", c)
	}
	return nil
}

// Throttled account operations, as ThrottledError and the metrics name
// them.
const (
	opResend = "resend_verification"
	opForgot = "forgot_password"
	opReset  = "reset_password"
)

// maxTokenLen bounds a one-time token read from a client: ours are 43
// characters; anything far longer is not worth hashing.
const maxTokenLen = 128

// newToken makes a one-time token for the user with the id.
func (s *Service) newToken(userID string, purpose user.Purpose) (user.OneTimeToken, error) {
	raw, hash, err := token.NewRefresh()
	if err != nil {
		return user.OneTimeToken{}, fmt.Errorf("new %s token: %w", purpose, err)
	}
	ttl := s.cfg.Account.VerificationTTL
	if purpose == user.PurposePasswordReset {
		ttl = s.cfg.Account.ResetTTL
	}
	return user.OneTimeToken{
		Raw: raw, Hash: hash, UserID: userID, Purpose: purpose,
		ExpiresAt: time.Now().Add(ttl).UTC().Truncate(time.Microsecond),
	}, nil
}

// tokenHash checks a one-time token from a client and returns its hash.
// An empty token is a missing field; one of the wrong shape is as invalid
// as a forged one, and answered the same.
func tokenHash(raw string) (string, error) {
	if raw == "" {
		return "", invalid("token", "token is required")
	}
	if len(raw) > maxTokenLen {
		return "", ErrTokenInvalid
	}
	return token.HashRefresh(raw), nil
}

// ErrTokenInvalid is the one answer to a verification or reset token that
// is unknown, expired, used, superseded or forged: the caller cannot tell
// which.
var ErrTokenInvalid = user.ErrTokenInvalid

// VerifyEmail marks the address of the token's user verified. The token
// works once; a new token for an address already verified succeeds and
// changes nothing. Anything else is ErrTokenInvalid.
func (s *Service) VerifyEmail(ctx context.Context, rawToken string) error {
	err := s.verifyEmail(ctx, rawToken)
	s.metrics.tokenUse(user.PurposeEmailVerification, err)
	return err
}

func (s *Service) verifyEmail(ctx context.Context, rawToken string) error {
	hash, err := tokenHash(rawToken)
	if err != nil {
		return err
	}
	id, err := s.accounts.VerifyEmail(ctx, hash)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "email address verified", slog.String("user_id", id))
	return nil
}

// ResendVerification mails the bearer of accessToken a new verification
// link; earlier links stop working. An address already verified gets
// ErrAlreadyVerified (the caller is the account's owner: nothing is
// revealed). Each account, and each client address, may ask a few times
// per window (AccountConfig), then ThrottledError.
func (s *Service) ResendVerification(ctx context.Context, accessToken, clientIP string) error {
	err := s.resendVerification(ctx, accessToken, clientIP)
	s.metrics.flow(opResend, err)
	return err
}

func (s *Service) resendVerification(ctx context.Context, accessToken, clientIP string) error {
	u, err := s.Me(ctx, accessToken)
	if err != nil {
		return err
	}
	if u.EmailVerified {
		return ErrAlreadyVerified
	}
	c := s.cfg.Account
	quotas := []Quota{{Key: "resend:account:" + u.ID, Limit: c.ResendAccount, Window: c.ResendWindow}}
	if clientIP != "" {
		quotas = append(quotas, Quota{Key: "resend:address:" + clientIP, Limit: c.ResendAddress, Window: c.ResendWindow})
	}
	if err := s.reserve(ctx, opResend, quotas); err != nil {
		return err
	}
	t, err := s.newToken(u.ID, user.PurposeEmailVerification)
	if err == nil {
		err = s.accounts.IssueToken(ctx, u, t)
	}
	if err != nil {
		s.release(ctx, quotas, nil)
		return err
	}
	return nil
}

// ForgotPassword mails a password reset link to email if it has an
// account, and answers nil either way: the answer never tells whether an
// address is registered. Requests are counted per address and per client
// address (AccountConfig) whether or not the address is known, so a
// throttled answer tells nothing either. Both paths make a token and read
// the address once from the primary; the known address's write then runs
// after the answer (see Drain), so its time does not tell either, and its
// failure is logged, not returned: the user asks again. A failed read is
// returned: it happens alike for either kind of address.
func (s *Service) ForgotPassword(ctx context.Context, email, clientIP string) error {
	err := s.forgotPassword(ctx, email, clientIP)
	s.metrics.flow(opForgot, err)
	return err
}

func (s *Service) forgotPassword(ctx context.Context, rawEmail, clientIP string) error {
	email, err := user.NormalizeEmail(rawEmail)
	if err != nil {
		return invalid("email", err.Error())
	}
	c := s.cfg.Account
	quotas := []Quota{{Key: "forgot:account:" + email, Limit: c.ForgotAccount, Window: c.ForgotWindow}}
	if clientIP != "" {
		quotas = append(quotas, Quota{Key: "forgot:address:" + clientIP, Limit: c.ForgotAddress, Window: c.ForgotWindow})
	}
	if err := s.reserve(ctx, opForgot, quotas); err != nil {
		return err
	}
	// The token is made whether or not the address is known, so both
	// paths do the same work up to the store's write.
	t, err := s.newToken("", user.PurposePasswordReset)
	if err != nil {
		return err
	}
	// The primary, for both: a replica would answer a known address at
	// once and send an unknown one on to the primary, twice the time.
	u, err := s.accounts.CurrentByEmail(ctx, email)
	switch {
	case errors.Is(err, user.ErrNotFound):
		return nil
	case err != nil:
		// The read fails alike for known and unknown addresses, so saying
		// so (503) tells nothing, and the user knows to ask again.
		return err
	}
	t.UserID = u.ID
	s.afterAnswer(ctx, func(ctx context.Context) {
		if err := s.accounts.IssueToken(ctx, u, t); err != nil {
			s.log.WarnContext(ctx, "password reset request: issue token", slog.String("user_id", u.ID), slog.Any("error", err))
			return
		}
		s.log.InfoContext(ctx, "password reset requested", slog.String("user_id", u.ID))
	})
	return nil
}

// afterAnswerTimeout bounds work that runs after its request answered.
const afterAnswerTimeout = 10 * time.Second

// afterAnswer runs fn on its own goroutine with ctx's values (its trace)
// but not its cancellation, within afterAnswerTimeout; Drain waits for it.
func (s *Service) afterAnswer(ctx context.Context, fn func(context.Context)) {
	s.work.Go(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), afterAnswerTimeout)
		defer cancel()
		fn(ctx)
	})
}

// Drain waits for the work still running after its request answered (a
// password reset request being stored). The process calls it when it
// stops, after its servers, before it closes the database.
func (s *Service) Drain() { s.work.Wait() }

// PasswordReset is the input of ResetPassword.
type PasswordReset struct {
	Token       string
	NewPassword string
	ClientIP    string
}

// ResetPassword sets a new password, under the registration policy, for
// the user of a reset token, which it uses up: of concurrent uses of one
// token exactly one succeeds. Then every session of the user ends (every
// refresh family, and the access tokens issued in them), and a
// PasswordChanged event announces the change. A bad token is
// ErrTokenInvalid; a bad password leaves the token usable.
func (s *Service) ResetPassword(ctx context.Context, r PasswordReset) error {
	err := s.resetPassword(ctx, r)
	s.metrics.tokenUse(user.PurposePasswordReset, err)
	return err
}

func (s *Service) resetPassword(ctx context.Context, r PasswordReset) error {
	hash, err := tokenHash(r.Token)
	if err != nil {
		return err
	}
	if r.NewPassword == "" {
		return invalid("new_password", "new_password is required")
	}
	if r.ClientIP != "" {
		q := []Quota{{Key: "reset:address:" + r.ClientIP, Limit: s.cfg.Account.ResetAddress, Window: s.cfg.Account.ResetWindow}}
		if err := s.reserve(ctx, opReset, q); err != nil {
			return err
		}
	}
	// The token is looked up, not used, before the policy check and the
	// hash: a password the policy refuses leaves the link working, and a
	// forged token costs no hash.
	id, err := s.accounts.TokenUser(ctx, hash, user.PurposePasswordReset)
	if err != nil {
		return err
	}
	u, err := s.accounts.Current(ctx, id)
	if errors.Is(err, user.ErrNotFound) {
		return ErrTokenInvalid
	}
	if err != nil {
		return err
	}
	if err := s.policy.Check(r.NewPassword, u.Email); err != nil {
		return invalid("new_password", err.Error())
	}
	pwHash, err := s.hasher.Hash(r.NewPassword)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if _, err := s.accounts.ResetPassword(ctx, hash, pwHash); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "password reset", slog.String("user_id", u.ID))
	return s.endSessions(ctx, u.ID, ReasonPasswordReset)
}

// PasswordChange is the input of ChangePassword.
type PasswordChange struct {
	AccessToken     string
	CurrentPassword string
	NewPassword     string
	ClientIP        string
	UserAgent       string
}

// ChangePassword replaces the password of the bearer of the access token,
// who proves the current one; wrong current passwords count against the
// login limits, as a login would. Every session of the user then ends, and
// a new one starts for the caller, whose token pair it returns; a
// PasswordChanged event announces the change.
func (s *Service) ChangePassword(ctx context.Context, c PasswordChange) (Tokens, error) {
	t, err := s.changePassword(ctx, c)
	s.metrics.flow("change_password", err)
	return t, err
}

func (s *Service) changePassword(ctx context.Context, c PasswordChange) (Tokens, error) {
	u, err := s.Me(ctx, c.AccessToken)
	if err != nil {
		return Tokens{}, err
	}
	if c.CurrentPassword == "" {
		return Tokens{}, invalid("current_password", "current_password is required")
	}
	if err := s.policy.CheckLength(c.CurrentPassword); err != nil {
		return Tokens{}, invalid("current_password", err.Error())
	}
	if c.NewPassword == "" {
		return Tokens{}, invalid("new_password", "new_password is required")
	}
	if err := s.policy.Check(c.NewPassword, u.Email); err != nil {
		return Tokens{}, invalid("new_password", err.Error())
	}
	quotas := s.loginQuotas(u.Email, c.ClientIP)
	if err := s.reserveLogin(ctx, u.Email, c.ClientIP, quotas); err != nil {
		return Tokens{}, err
	}
	ok, _, err := s.hasher.Verify(c.CurrentPassword, u.PasswordHash)
	if err != nil {
		s.release(ctx, quotas, nil)
		return Tokens{}, fmt.Errorf("verify password of user %s: %w", u.ID, err)
	}
	if !ok {
		return Tokens{}, invalid("current_password", "current password is wrong")
	}
	s.release(ctx, quotas[1:], quotas[:1])
	pwHash, err := s.hasher.Hash(c.NewPassword)
	if err != nil {
		return Tokens{}, fmt.Errorf("hash password: %w", err)
	}
	if err := s.accounts.ChangePassword(ctx, u.ID, u.PasswordHash, pwHash); err != nil {
		if errors.Is(err, user.ErrNotFound) {
			// Gone, or a concurrent change won: this token's view of the
			// account is stale.
			return Tokens{}, ErrInvalidToken
		}
		return Tokens{}, err
	}
	s.log.InfoContext(ctx, "password changed", slog.String("user_id", u.ID))
	if err := s.endSessions(ctx, u.ID, ReasonPasswordChanged); err != nil {
		return Tokens{}, err
	}
	u.PasswordHash = pwHash
	// The caller's own new session: no CheckedAt, so the revocation just
	// made does not refuse it.
	return s.startSession(ctx, u, Origin{ClientAddress: c.ClientIP, UserAgent: c.UserAgent})
}

// endSessions ends every session of the user after a password change,
// even when the client has gone. A failure is returned although the
// password has changed: sessions an attacker may hold are still open, and
// the user must learn it (and log out everywhere once it works again).
func (s *Service) endSessions(ctx context.Context, userID, reason string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if _, err := s.endUserSessions(ctx, userID, reason); err != nil {
		s.log.ErrorContext(ctx, "password changed but its sessions could not be ended", slog.String("user_id", userID), slog.Any("error", err))
		return err
	}
	return nil
}
