package ledger_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
)

// fakeAuth accepts the tokens it knows; err, when set, is what sso "says"
// to every token.
type fakeAuth struct {
	callers map[string]ledger.Caller
	err     error
	calls   int
}

func (a *fakeAuth) Authenticate(_ context.Context, token string) (ledger.Caller, error) {
	a.calls++
	if a.err != nil {
		return ledger.Caller{}, a.err
	}
	c, ok := a.callers[token]
	if !ok {
		return ledger.Caller{}, ledger.ErrInvalidToken
	}
	return c, nil
}

// fakeStore keeps the Store contract in memory: one lock stands for the
// per-account serialization of the real store.
type fakeStore struct {
	mu       sync.Mutex
	accounts map[string]*ledger.Account
	txs      []ledger.Transaction
	clock    time.Time
	calls    int
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		accounts: map[string]*ledger.Account{},
		clock:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func (s *fakeStore) now() time.Time {
	s.clock = s.clock.Add(time.Millisecond)
	return s.clock
}

func (s *fakeStore) Account(_ context.Context, userID string) (ledger.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	a, ok := s.accounts[userID]
	if !ok {
		return ledger.Account{}, ledger.ErrNotFound
	}
	return *a, nil
}

func (s *fakeStore) Transactions(_ context.Context, userID string, after *ledger.Cursor, limit int) ([]ledger.Transaction, error) {
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

func (s *fakeStore) CreditWelcome(_ context.Context, t ledger.Transaction) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	a, ok := s.accounts[t.UserID]
	if !ok {
		now := s.now()
		a = &ledger.Account{UserID: t.UserID, CreatedAt: now, UpdatedAt: now}
		s.accounts[t.UserID] = a
	}
	for _, old := range s.txs {
		if old.UserID == t.UserID && old.Kind == ledger.KindWelcomeBonus {
			return false, nil
		}
	}
	s.record(a, t, t.Amount)
	return true, nil
}

func (s *fakeStore) Apply(_ context.Context, t ledger.Transaction) (ledger.Transaction, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	a, ok := s.accounts[t.UserID]
	if !ok {
		return ledger.Transaction{}, false, ledger.ErrNotFound
	}
	for _, old := range s.txs {
		if old.UserID == t.UserID && old.IdempotencyKey == t.IdempotencyKey {
			return old, false, nil
		}
	}
	delta := t.Amount
	if t.Kind == ledger.KindWithdrawal {
		if a.Balance < t.Amount {
			return ledger.Transaction{}, false, ledger.ErrInsufficientFunds
		}
		delta = -t.Amount
	}
	return s.record(a, t, delta), true, nil
}

func (s *fakeStore) record(a *ledger.Account, t ledger.Transaction, delta int64) ledger.Transaction {
	a.Balance += delta
	a.UpdatedAt = s.now()
	t.BalanceAfter, t.CreatedAt = a.Balance, a.UpdatedAt
	s.txs = append(s.txs, t)
	return t
}

// open gives userID an account holding balance, as if its welcome bonus
// had been that large.
func (s *fakeStore) open(userID string, balance int64) {
	if _, err := s.CreditWelcome(context.Background(), ledger.Transaction{
		ID: fmt.Sprintf("00000000-0000-7000-8000-%012d", len(s.txs)), UserID: userID,
		Kind: ledger.KindWelcomeBonus, Amount: balance, Reason: "welcome bonus",
	}); err != nil {
		panic(err)
	}
}
