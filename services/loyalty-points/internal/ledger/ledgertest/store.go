package ledgertest

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
)

// Store keeps the ledger.Store contract in memory: one lock stands for the
// per-account serialization of the real store, and a clock that ticks a
// millisecond per change gives every transaction its own CreatedAt. It is
// safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	accounts map[string]*ledger.Account
	closed   map[string]bool
	txs      []ledger.Transaction
	clock    time.Time
	calls    int
}

var _ ledger.Store = (*Store)(nil)

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{
		accounts: map[string]*ledger.Account{},
		closed:   map[string]bool{},
		clock:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func (s *Store) now() time.Time {
	s.clock = s.clock.Add(time.Millisecond)
	return s.clock
}

// Account returns the account of userID, or ledger.ErrNotFound.
func (s *Store) Account(_ context.Context, userID string) (ledger.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	a, ok := s.accounts[userID]
	if !ok {
		return ledger.Account{}, ledger.ErrNotFound
	}
	return *a, nil
}

// Transactions returns up to limit of userID's transactions, newest first,
// after the cursor; ledger.ErrNotFound when the account does not exist.
func (s *Store) Transactions(_ context.Context, userID string, after *ledger.Cursor, limit int) ([]ledger.Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if _, ok := s.accounts[userID]; !ok {
		return nil, ledger.ErrNotFound
	}
	var out []ledger.Transaction
	for _, t := range s.txs {
		if t.UserID == userID && (after == nil || older(t, *after)) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b ledger.Transaction) int {
		return -cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func older(t ledger.Transaction, c ledger.Cursor) bool {
	return t.CreatedAt.Before(c.CreatedAt) || t.CreatedAt.Equal(c.CreatedAt) && t.ID < c.ID
}

// CreditWelcome opens t.UserID's account if needed and credits t unless
// the account already had its welcome bonus.
func (s *Store) CreditWelcome(_ context.Context, t ledger.Transaction) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if t.Kind != ledger.KindWelcomeBonus {
		return false, fmt.Errorf("ledgertest: credit welcome: transaction kind %s", t.Kind)
	}
	a, ok := s.accounts[t.UserID]
	if !ok {
		now := s.now()
		a = &ledger.Account{UserID: t.UserID, CreatedAt: now, UpdatedAt: now}
		s.accounts[t.UserID] = a
	}
	if s.closed[t.UserID] {
		return false, nil
	}
	for _, old := range s.txs {
		if old.UserID == t.UserID && old.Kind == ledger.KindWelcomeBonus {
			return false, nil
		}
	}
	s.record(a, t, t.Amount)
	return true, nil
}

// Apply records a deposit or withdrawal once per idempotency key.
func (s *Store) Apply(_ context.Context, t ledger.Transaction) (ledger.Transaction, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if t.Kind != ledger.KindDeposit && t.Kind != ledger.KindWithdrawal || t.IdempotencyKey == "" {
		return ledger.Transaction{}, false, fmt.Errorf("ledgertest: apply: a %s without idempotency key", t.Kind)
	}
	a, ok := s.accounts[t.UserID]
	if !ok {
		return ledger.Transaction{}, false, ledger.ErrNotFound
	}
	if s.closed[t.UserID] {
		return ledger.Transaction{}, false, ledger.ErrAccountClosed
	}
	for _, old := range s.txs {
		if old.UserID == t.UserID && old.IdempotencyKey == t.IdempotencyKey {
			return old, false, nil
		}
	}
	delta := t.Amount
	switch {
	case t.Kind == ledger.KindWithdrawal && a.Balance < t.Amount:
		return ledger.Transaction{}, false, ledger.ErrInsufficientFunds
	case t.Kind == ledger.KindWithdrawal:
		delta = -t.Amount
	case a.Balance > math.MaxInt64-t.Amount:
		return ledger.Transaction{}, false, ledger.ErrBalanceOverflow
	}
	return s.record(a, t, delta), true, nil
}

// Close closes userID's account, opening an empty one if needed, and blanks
// its transactions' reasons and idempotency keys.
func (s *Store) Close(_ context.Context, userID, _ string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if _, ok := s.accounts[userID]; !ok {
		now := s.now()
		s.accounts[userID] = &ledger.Account{UserID: userID, CreatedAt: now, UpdatedAt: now}
	}
	if s.closed[userID] {
		return false, nil
	}
	s.closed[userID] = true
	for i, t := range s.txs {
		if t.UserID == userID {
			s.txs[i].Reason = ""
			if t.IdempotencyKey != "" {
				s.txs[i].IdempotencyKey = t.ID
			}
		}
	}
	return true, nil
}

func (s *Store) record(a *ledger.Account, t ledger.Transaction, delta int64) ledger.Transaction {
	a.Balance += delta
	a.UpdatedAt = s.now()
	t.BalanceAfter, t.CreatedAt = a.Balance, a.UpdatedAt
	s.txs = append(s.txs, t)
	return t
}

// Open gives userID an account holding balance, as if its welcome bonus
// had been that large; it panics if the account has one already.
func (s *Store) Open(userID string, balance int64) {
	s.mu.Lock()
	id := fmt.Sprintf("00000000-0000-7000-8000-%012d", len(s.txs))
	s.mu.Unlock()
	credited, err := s.CreditWelcome(context.Background(), ledger.Transaction{
		ID: id, UserID: userID, Kind: ledger.KindWelcomeBonus, Amount: balance, Reason: "welcome bonus",
	})
	if err != nil || !credited {
		panic(fmt.Sprintf("ledgertest: open %s: credited %v, %v", userID, credited, err))
	}
}

// Calls counts the calls of the ledger.Store methods, so a test can prove a
// refused request never reached the store.
func (s *Store) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Peek returns userID's account without counting a call.
func (s *Store) Peek(userID string) (ledger.Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[userID]
	if !ok {
		return ledger.Account{}, false
	}
	return *a, true
}

// Recorded returns every transaction of every account, oldest first.
func (s *Store) Recorded() []ledger.Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.txs)
}
