package ledger

import "errors"

var (
	// ErrUnauthenticated means a call came without an access token.
	ErrUnauthenticated = errors.New("missing access token")
	// ErrInvalidToken means sso does not accept the access token: it is
	// malformed, expired or revoked.
	ErrInvalidToken = errors.New("invalid or expired token")
	// ErrAuthUnavailable means the caller could not be authenticated
	// because sso did not answer in time; the call may be retried.
	ErrAuthUnavailable = errors.New("authentication service unavailable")
	// ErrUnavailable means the Store cannot be reached or is busy right
	// now (the database down, restarting or failing over); the same call
	// succeeds once it is back.
	ErrUnavailable = errors.New("ledger store unavailable")
	// ErrForbidden means the caller is authenticated but not allowed.
	ErrForbidden = errors.New("permission denied")
	// ErrNotFound means the user has no account (yet).
	ErrNotFound = errors.New("account not found")
	// ErrAccountClosed refuses a deposit or withdrawal on the account of a
	// deleted user; nothing changed.
	ErrAccountClosed = errors.New("account closed: its user was deleted")
	// ErrInsufficientFunds refuses a withdrawal larger than the balance;
	// nothing was taken.
	ErrInsufficientFunds = errors.New("insufficient balance")
	// ErrBalanceOverflow refuses a deposit the balance cannot hold.
	ErrBalanceOverflow = errors.New("balance would exceed its maximum")
	// ErrIdempotencyKeyReused refuses a deposit or withdrawal whose key an
	// earlier, different operation on the account already used.
	ErrIdempotencyKeyReused = errors.New("idempotency key already used for a different operation")
)

// InvalidArgumentError reports bad input in one field; Reason is safe to
// show to the client.
type InvalidArgumentError struct {
	Field  string
	Reason string
}

func (e *InvalidArgumentError) Error() string { return e.Field + ": " + e.Reason }

func invalid(field, reason string) error { return &InvalidArgumentError{Field: field, Reason: reason} }
