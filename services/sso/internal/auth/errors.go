package auth

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrInvalidCredentials is the one answer to a failed login, whether
	// the e-mail exists or not, so responses cannot enumerate accounts.
	ErrInvalidCredentials = errors.New("invalid email or password")
	// ErrInvalidToken means a refresh or access token is unknown, expired,
	// revoked or malformed.
	ErrInvalidToken = errors.New("invalid or expired token")
	// ErrRefreshReused means a refresh token was presented again after it
	// had been rotated; its whole family is revoked as a precaution.
	ErrRefreshReused = errors.New("refresh token reused")
	// ErrUnauthenticated means a call that needs an access token had none.
	ErrUnauthenticated = errors.New("missing access token")
	// ErrSessionsEnded means a session could not start because every
	// session of the user was ended after its credentials were checked.
	ErrSessionsEnded = errors.New("sessions of the user ended meanwhile")
	// ErrSessionNotFound means a session id names no live session of the
	// caller: unknown, ended, malformed, or another user's, alike.
	ErrSessionNotFound = errors.New("session not found")
	// ErrForbidden means the caller is authenticated but not allowed.
	ErrForbidden = errors.New("permission denied")
	// ErrEmailNotVerified refuses the login of an account whose address is
	// not verified, when logins require it; it is answered only after the
	// password was verified, so it tells nothing to someone without it.
	ErrEmailNotVerified = errors.New("email address not verified")
	// ErrSelfAdmin refuses an administrator disabling itself, revoking
	// its own role or deleting itself through the admin API: done by the
	// last administrator, nobody could undo it but an operator with the
	// database. Its own account it deletes as any user does, with its
	// password.
	ErrSelfAdmin = errors.New("an administrator cannot disable, demote or delete itself through the admin API")
	// ErrAlreadyVerified refuses to resend a verification mail for an
	// address already verified.
	ErrAlreadyVerified = errors.New("email address already verified")
)

// ThrottledError refuses a login or registration attempt: too many came
// from the same place (see Limits). The caller may retry after RetryAfter.
type ThrottledError struct {
	// Op is what was refused: "login", "register", "resend_verification",
	// "forgot_password" or "reset_password".
	Op         string
	RetryAfter time.Duration

	// key and scope name the quota that refused, for the audit log.
	key, scope string
}

// Login reports whether a login, not a registration, was refused.
func (e *ThrottledError) Login() bool { return e.Op == opLogin }

// Message is the client's explanation of the refusal.
func (e *ThrottledError) Message() string {
	switch e.Op {
	case opLogin:
		return "too many failed login attempts, try again later"
	case opRegister:
		return "too many registrations from this address, try again later"
	case opResend:
		return "too many verification mails requested, try again later"
	case opForgot:
		return "too many password reset requests, try again later"
	case opReset:
		return "too many password reset attempts, try again later"
	}
	return "too many attempts, try again later"
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many %s attempts, retry in %s", e.Op, e.RetryAfter.Round(time.Second))
}

// InvalidArgumentError reports bad input in one field; Reason is safe to
// show to the client.
type InvalidArgumentError struct {
	Field  string
	Reason string
}

func (e *InvalidArgumentError) Error() string { return e.Field + ": " + e.Reason }

func invalid(field, reason string) error { return &InvalidArgumentError{Field: field, Reason: reason} }
