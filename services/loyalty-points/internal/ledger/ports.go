package ledger

import "context"

// Caller is who an access token was issued to.
type Caller struct {
	UserID string
	Admin  bool
}

// Authenticator tells who presents an access token.
type Authenticator interface {
	// Authenticate returns the caller token was issued to. It returns
	// ErrInvalidToken when the token is not (or no longer) valid, and an
	// error wrapping ErrAuthUnavailable when that cannot be decided now.
	Authenticate(ctx context.Context, token string) (Caller, error)
}

// Store keeps accounts and their transactions. Every change of a balance
// and the transaction recording it are written atomically, and changes of
// one account are serialized, so concurrent calls never lose an update or
// take a balance below zero. A failure that waiting cures (the database
// unreachable or restarting) wraps ErrUnavailable.
type Store interface {
	// Account returns the account of userID, or ErrNotFound.
	Account(ctx context.Context, userID string) (Account, error)
	// Transactions returns up to limit transactions of userID's account,
	// newest first, starting after the cursor (from the newest when it is
	// nil). It returns ErrNotFound when the account does not exist.
	Transactions(ctx context.Context, userID string, after *Cursor, limit int) ([]Transaction, error)
	// CreditWelcome opens t.UserID's account if needed and records t, a
	// welcome bonus, crediting its amount, unless the account already had
	// its welcome bonus; it reports whether t was credited.
	CreditWelcome(ctx context.Context, t Transaction) (credited bool, err error)
	// Apply records t, a deposit or withdrawal, and changes the balance by
	// its amount. When the account already has a transaction with
	// t.IdempotencyKey, nothing changes and Apply returns that transaction
	// with applied false; otherwise it returns t as recorded (with its
	// BalanceAfter and CreatedAt). It returns ErrNotFound when the account
	// does not exist, ErrInsufficientFunds when a withdrawal exceeds the
	// balance and ErrBalanceOverflow when a deposit would overflow it.
	//
	// On a closed account Apply returns ErrAccountClosed and CreditWelcome
	// credits nothing.
	Apply(ctx context.Context, t Transaction) (recorded Transaction, applied bool, err error)
	// Close closes userID's account (opening a closed, empty one when it
	// has none), recording eventID, and erases the free text its
	// transactions carry (reasons and idempotency keys, written by
	// administrators, which may name the person); balances and amounts
	// stay. It reports whether this call closed it: false when it was
	// closed already, and then nothing changes.
	Close(ctx context.Context, userID, eventID string) (closed bool, err error)
}
