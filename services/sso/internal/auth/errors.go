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
	// ErrForbidden means the caller is authenticated but not allowed.
	ErrForbidden = errors.New("permission denied")
)

// ThrottledError refuses a login attempt after too many failures; the
// caller may retry after RetryAfter.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed attempts, retry in %s", e.RetryAfter.Round(time.Second))
}

// InvalidArgumentError reports bad input in one field; Reason is safe to
// show to the client.
type InvalidArgumentError struct {
	Field  string
	Reason string
}

func (e *InvalidArgumentError) Error() string { return e.Field + ": " + e.Reason }

func invalid(field, reason string) error { return &InvalidArgumentError{Field: field, Reason: reason} }
