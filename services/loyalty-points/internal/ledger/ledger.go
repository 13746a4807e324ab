package ledger

import "time"

// Kind says why a balance changed, and in which direction.
type Kind string

// The kinds of transaction; their values are what the store records.
const (
	// KindWelcomeBonus is the credit a new user's account opens with.
	KindWelcomeBonus Kind = "WELCOME_BONUS"
	// KindDeposit is a credit by an administrator.
	KindDeposit Kind = "DEPOSIT"
	// KindWithdrawal is a debit by an administrator.
	KindWithdrawal Kind = "WITHDRAWAL"
)

// Account is a user's point account.
type Account struct {
	UserID string
	// Balance is in whole points and never negative.
	Balance   int64
	CreatedAt time.Time
	// UpdatedAt is when the balance last changed.
	UpdatedAt time.Time
}

// Transaction is one change of a balance; transactions are never edited or
// deleted, so an account's history explains its balance.
type Transaction struct {
	ID     string
	UserID string
	Kind   Kind
	// Amount is always positive; Kind gives the direction.
	Amount int64
	Reason string
	// IdempotencyKey is the caller's key of a deposit or withdrawal; empty
	// for the welcome bonus.
	IdempotencyKey string
	// EventID is the UserRegistered event that credited a welcome bonus;
	// empty for the other kinds.
	EventID string
	// BalanceAfter is the balance right after this transaction, what a
	// retried deposit or withdrawal answers.
	BalanceAfter int64
	// CreatedAt is when the transaction was applied.
	CreatedAt time.Time
}

// Cursor is a position in an account's history, which is ordered newest
// first by (CreatedAt, ID): the transactions after it are older.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}
