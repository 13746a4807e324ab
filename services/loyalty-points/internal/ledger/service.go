package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Page sizes of ListTransactions.
const (
	// DefaultPageSize is the page size when the caller asks for none.
	DefaultPageSize = 20
	// MaxPageSize caps the page size; larger requests get this many.
	MaxPageSize = 100
)

// Input limits: stored text stays bounded.
const (
	maxReasonRunes = 500
	maxKeyRunes    = 200
)

// welcomeReason is the reason recorded with every welcome bonus.
const welcomeReason = "welcome bonus"

// Config holds the business settings of the use cases.
type Config struct {
	// WelcomeBonus is the number of points a new account is credited with.
	WelcomeBonus int64
}

// Service is the set of loyalty-points use cases.
type Service struct {
	store   Store
	auth    Authenticator
	bonus   int64
	metrics *Metrics // nil: not counted
}

// NewService wires the use cases to their ports.
func NewService(store Store, auth Authenticator, cfg Config, opts ...Option) (*Service, error) {
	if cfg.WelcomeBonus <= 0 {
		return nil, fmt.Errorf("ledger: welcome bonus %d is not positive", cfg.WelcomeBonus)
	}
	s := &Service{store: store, auth: auth, bonus: cfg.WelcomeBonus}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Account returns the account of userID to its owner or an administrator.
func (s *Service) Account(ctx context.Context, token, userID string) (Account, error) {
	id, err := s.authorizeRead(ctx, token, userID)
	if err != nil {
		return Account{}, err
	}
	return s.store.Account(ctx, id)
}

// HistoryQuery asks for one page of an account's transactions.
type HistoryQuery struct {
	UserID string
	// PageSize is at most this many transactions; 0 means DefaultPageSize
	// and values above MaxPageSize mean MaxPageSize.
	PageSize int
	// PageToken is the NextPageToken of the previous page, or empty.
	PageToken string
}

// HistoryPage is one page of an account's transactions, newest first.
type HistoryPage struct {
	Transactions []Transaction
	// NextPageToken asks for the next page; empty on the last one.
	NextPageToken string
}

// History pages through the transactions of userID's account, newest
// first, for its owner or an administrator.
func (s *Service) History(ctx context.Context, token string, q HistoryQuery) (HistoryPage, error) {
	id, err := s.authorizeRead(ctx, token, q.UserID)
	if err != nil {
		return HistoryPage{}, err
	}
	size := q.PageSize
	switch {
	case size < 0:
		return HistoryPage{}, invalid("page_size", "must not be negative")
	case size == 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	var after *Cursor
	if q.PageToken != "" {
		c, err := decodePageToken(q.PageToken, id)
		if err != nil {
			return HistoryPage{}, invalid("page_token", "was not returned by a previous call with the same user_id")
		}
		after = &c
	}
	// One more than the page tells whether another page follows.
	txs, err := s.store.Transactions(ctx, id, after, size+1)
	if err != nil {
		return HistoryPage{}, err
	}
	page := HistoryPage{Transactions: txs}
	if len(txs) > size {
		page.Transactions = txs[:size]
		last := txs[size-1]
		page.NextPageToken = encodePageToken(id, Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return page, nil
}

// Change is the input of Deposit and Withdraw.
type Change struct {
	UserID string
	// Amount is the number of points to move; it must be positive.
	Amount int64
	// Reason is an optional note stored with the transaction.
	Reason string
	// IdempotencyKey identifies the operation, so that a retry applies it
	// at most once; required.
	IdempotencyKey string
}

// Deposit credits c.Amount to an account, for an administrator, and
// returns the balance the deposit produced (see the package documentation
// on idempotency).
func (s *Service) Deposit(ctx context.Context, token string, c Change) (balance int64, err error) {
	return s.change(ctx, token, KindDeposit, c)
}

// Withdraw debits c.Amount from an account, for an administrator, and
// returns the balance the withdrawal produced. A withdrawal larger than
// the balance takes nothing and returns ErrInsufficientFunds.
func (s *Service) Withdraw(ctx context.Context, token string, c Change) (balance int64, err error) {
	return s.change(ctx, token, KindWithdrawal, c)
}

func (s *Service) change(ctx context.Context, token string, kind Kind, c Change) (int64, error) {
	balance, applied, err := s.apply(ctx, token, kind, c)
	s.metrics.change(kind, c.Amount, applied, err)
	return balance, err
}

// apply runs a deposit or withdrawal and reports whether this call moved
// the points (false for a replay).
func (s *Service) apply(ctx context.Context, token string, kind Kind, c Change) (balance int64, applied bool, err error) {
	caller, err := s.authenticate(ctx, token)
	if err != nil {
		return 0, false, err
	}
	if !caller.Admin {
		return 0, false, ErrForbidden
	}
	t, err := newChange(kind, c)
	if err != nil {
		return 0, false, err
	}
	rec, applied, err := s.store.Apply(ctx, t)
	if err != nil {
		return 0, false, err
	}
	if !applied && !sameOperation(rec, t) {
		return 0, false, ErrIdempotencyKeyReused
	}
	return rec.BalanceAfter, applied, nil
}

// newChange validates c and returns the transaction it asks for.
func newChange(kind Kind, c Change) (Transaction, error) {
	id, err := parseUUID("user_id", c.UserID)
	if err != nil {
		return Transaction{}, err
	}
	if c.Amount <= 0 {
		return Transaction{}, invalid("amount", "must be positive")
	}
	if err := checkText("reason", c.Reason, maxReasonRunes); err != nil {
		return Transaction{}, err
	}
	if c.IdempotencyKey == "" {
		return Transaction{}, invalid("idempotency_key", "is required")
	}
	if err := checkText("idempotency_key", c.IdempotencyKey, maxKeyRunes); err != nil {
		return Transaction{}, err
	}
	return Transaction{
		ID:             newID(),
		UserID:         id,
		Kind:           kind,
		Amount:         c.Amount,
		Reason:         c.Reason,
		IdempotencyKey: c.IdempotencyKey,
	}, nil
}

// sameOperation reports whether recorded, found under t's idempotency key,
// is the operation t asks for again.
func sameOperation(recorded, t Transaction) bool {
	return recorded.Kind == t.Kind && recorded.Amount == t.Amount && recorded.Reason == t.Reason
}

// CreditWelcomeBonus opens the account of a newly registered user with the
// welcome bonus, once per user: it reports whether this call credited it,
// false when the user already had it (a redelivered or repeated event).
// eventID, the UserRegistered event's id, is recorded with the bonus.
// Malformed ids are an *InvalidArgumentError: retrying cannot help.
func (s *Service) CreditWelcomeBonus(ctx context.Context, userID, eventID string) (credited bool, err error) {
	id, err := parseUUID("user_id", userID)
	if err != nil {
		return false, err
	}
	ev, err := parseUUID("event_id", eventID)
	if err != nil {
		return false, err
	}
	credited, err = s.store.CreditWelcome(ctx, Transaction{
		ID:      newID(),
		UserID:  id,
		Kind:    KindWelcomeBonus,
		Amount:  s.bonus,
		Reason:  welcomeReason,
		EventID: ev,
	})
	if err == nil && credited {
		s.metrics.welcomeBonus(s.bonus)
	}
	return credited, err
}

// CloseAccount closes the account of a deleted user (see Store.Close):
// eventID is the UserDeleted event's. It reports whether this call closed
// it; a redelivered event finds it closed and changes nothing. Malformed
// ids are an *InvalidArgumentError.
func (s *Service) CloseAccount(ctx context.Context, userID, eventID string) (closed bool, err error) {
	id, err := parseUUID("user_id", userID)
	if err != nil {
		return false, err
	}
	ev, err := parseUUID("event_id", eventID)
	if err != nil {
		return false, err
	}
	return s.store.Close(ctx, id, ev)
}

// authorizeRead authenticates the caller and lets it read userID's
// account, returned in canonical form, if it is the owner or an
// administrator.
func (s *Service) authorizeRead(ctx context.Context, token, userID string) (string, error) {
	caller, err := s.authenticate(ctx, token)
	if err != nil {
		return "", err
	}
	id, err := parseUUID("user_id", userID)
	if err != nil {
		return "", err
	}
	if !caller.Admin && !strings.EqualFold(caller.UserID, id) {
		return "", ErrForbidden
	}
	return id, nil
}

func (s *Service) authenticate(ctx context.Context, token string) (Caller, error) {
	if token == "" {
		return Caller{}, ErrUnauthenticated
	}
	c, err := s.auth.Authenticate(ctx, token)
	if err != nil {
		return Caller{}, err
	}
	if c.UserID == "" {
		return Caller{}, errors.New("ledger: authenticator returned a caller without a user id")
	}
	return c, nil
}

// parseUUID accepts a UUID in the 8-4-4-4-12 form, in either case, and
// returns it in canonical lower case.
func parseUUID(field, s string) (string, error) {
	u, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return "", invalid(field, "must be a UUID")
	}
	return u.String(), nil
}

// checkText bounds a free-text field and refuses NUL characters, which
// PostgreSQL cannot store.
func checkText(field, s string, maxRunes int) error {
	if utf8.RuneCountInString(s) > maxRunes {
		return invalid(field, fmt.Sprintf("must be at most %d characters", maxRunes))
	}
	if strings.ContainsRune(s, 0) {
		return invalid(field, "must not contain NUL characters")
	}
	return nil
}

// newID returns a time-ordered UUID (version 7) for a new transaction, so
// new rows land at the end of the primary-key index.
func newID() string {
	return uuid.Must(uuid.NewV7()).String()
}
