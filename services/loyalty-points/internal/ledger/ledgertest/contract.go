package ledgertest

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
)

// RunStore runs the ledger.Store contract against the stores newStore
// returns, one per subtest. Subtests run in parallel on accounts of fresh
// user ids, so one shared database may back every store.
func RunStore(t *testing.T, newStore func(t *testing.T) ledger.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s ledger.Store)
	}{
		{"WelcomeBonusOncePerUser", storeWelcomeOnce},
		{"ConcurrentWelcomeBonusesCreditOnce", storeConcurrentWelcome},
		{"MissingAccount", storeMissingAccount},
		{"DepositAndWithdraw", storeDepositAndWithdraw},
		{"WithdrawalOverTheBalanceTakesNothing", storeOverdraw},
		{"ConcurrentWithdrawalsNeverOverdraw", storeConcurrentWithdrawals},
		{"IdempotencyKeys", storeIdempotency},
		{"ConcurrentRetriesApplyOnce", storeConcurrentRetries},
		{"DepositBeyondTheMaximum", storeOverflow},
		{"TransactionsPages", storePages},
		{"CloseKeepsTheAmountsAndRefusesChanges", storeClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func welcome(userID, eventID string, amount int64) ledger.Transaction {
	return ledger.Transaction{ID: newID(), UserID: userID, Kind: ledger.KindWelcomeBonus, Amount: amount, Reason: "welcome bonus", EventID: eventID}
}

func change(kind ledger.Kind, userID string, amount int64, key string) ledger.Transaction {
	return ledger.Transaction{ID: newID(), UserID: userID, Kind: kind, Amount: amount, Reason: "test", IdempotencyKey: key}
}

// opened returns a new user whose account holds balance, its welcome bonus.
func opened(t *testing.T, s ledger.Store, balance int64) string {
	t.Helper()
	user := uuid.NewString()
	credited, err := s.CreditWelcome(testenv.Context(t, 10*time.Second), welcome(user, uuid.NewString(), balance))
	if err != nil || !credited {
		t.Fatalf("open account: credited %v, %v", credited, err)
	}
	return user
}

func balance(t *testing.T, s ledger.Store, user string) int64 {
	t.Helper()
	a, err := s.Account(testenv.Context(t, 10*time.Second), user)
	if err != nil {
		t.Fatalf("account %s: %v", user, err)
	}
	return a.Balance
}

// history returns every transaction of user's account, newest first.
func history(t *testing.T, s ledger.Store, user string) []ledger.Transaction {
	t.Helper()
	txs, err := s.Transactions(testenv.Context(t, 10*time.Second), user, nil, 1000)
	if err != nil {
		t.Fatalf("transactions of %s: %v", user, err)
	}
	return txs
}

func countKind(txs []ledger.Transaction, kind ledger.Kind) int {
	n := 0
	for _, tx := range txs {
		if tx.Kind == kind {
			n++
		}
	}
	return n
}

func storeWelcomeOnce(t *testing.T, s ledger.Store) {
	ctx := testenv.Context(t, 10*time.Second)
	user, event := uuid.NewString(), uuid.NewString()
	credited, err := s.CreditWelcome(ctx, welcome(user, event, 100))
	if err != nil || !credited {
		t.Fatalf("first event: credited %v, %v", credited, err)
	}
	a, err := s.Account(ctx, user)
	if err != nil || a.UserID != user || a.Balance != 100 || a.UpdatedAt.IsZero() {
		t.Fatalf("account = %+v, %v; want balance 100", a, err)
	}
	for _, tt := range []struct{ name, event string }{
		{"the same event redelivered", event},
		{"another event for the same user", uuid.NewString()},
	} {
		credited, err := s.CreditWelcome(ctx, welcome(user, tt.event, 100))
		if err != nil || credited {
			t.Fatalf("%s: credited %v, %v; want no credit", tt.name, credited, err)
		}
	}
	if b := balance(t, s, user); b != 100 {
		t.Fatalf("balance = %d after repeats, want 100", b)
	}
	txs := history(t, s, user)
	if len(txs) != 1 {
		t.Fatalf("%d transactions, want the one bonus", len(txs))
	}
	got := txs[0]
	if got.Kind != ledger.KindWelcomeBonus || got.Amount != 100 || got.BalanceAfter != 100 || got.EventID != event ||
		got.Reason != "welcome bonus" || !got.CreatedAt.Equal(a.UpdatedAt) {
		t.Fatalf("bonus = %+v", got)
	}
}

func storeConcurrentWelcome(t *testing.T, s ledger.Store) {
	ctx := testenv.Context(t, 30*time.Second)
	user := uuid.NewString()
	const n = 10
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		credited int
		errs     []error
	)
	for range n {
		wg.Go(func() {
			ok, err := s.CreditWelcome(ctx, welcome(user, uuid.NewString(), 100))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				credited++
			}
		})
	}
	wg.Wait()
	if credited != 1 || len(errs) > 0 {
		t.Fatalf("credited %d times, errors %v; want once, none", credited, errs)
	}
	if b := balance(t, s, user); b != 100 {
		t.Fatalf("balance = %d, want 100", b)
	}
	if c := countKind(history(t, s, user), ledger.KindWelcomeBonus); c != 1 {
		t.Fatalf("%d bonuses recorded, want 1", c)
	}
}

func storeMissingAccount(t *testing.T, s ledger.Store) {
	ctx := testenv.Context(t, 10*time.Second)
	opened(t, s, 100) // someone else's account
	user := uuid.NewString()
	if _, err := s.Account(ctx, user); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Account: err = %v, want ledger.ErrNotFound", err)
	}
	if _, err := s.Transactions(ctx, user, nil, 10); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Transactions: err = %v, want ledger.ErrNotFound", err)
	}
	for _, kind := range []ledger.Kind{ledger.KindDeposit, ledger.KindWithdrawal} {
		if _, _, err := s.Apply(ctx, change(kind, user, 5, "k")); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("Apply %s: err = %v, want ledger.ErrNotFound", kind, err)
		}
	}
	// Nothing was opened on the way.
	if _, err := s.Account(ctx, user); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Account after refused changes: err = %v, want ledger.ErrNotFound", err)
	}
}

func storeDepositAndWithdraw(t *testing.T, s ledger.Store) {
	ctx := testenv.Context(t, 10*time.Second)
	user := opened(t, s, 100)
	dep := change(ledger.KindDeposit, user, 40, "d1")
	rec, applied, err := s.Apply(ctx, dep)
	if err != nil || !applied || rec.BalanceAfter != 140 || rec.ID != dep.ID || rec.CreatedAt.IsZero() {
		t.Fatalf("deposit = %+v, %v, %v", rec, applied, err)
	}
	// Down to exactly zero is allowed.
	rec, applied, err = s.Apply(ctx, change(ledger.KindWithdrawal, user, 140, "w1"))
	if err != nil || !applied || rec.BalanceAfter != 0 {
		t.Fatalf("withdraw = %+v, %v, %v", rec, applied, err)
	}
	a, err := s.Account(ctx, user)
	if err != nil || a.Balance != 0 || !a.UpdatedAt.Equal(rec.CreatedAt) {
		t.Fatalf("account = %+v, %v; want 0, updated at the withdrawal", a, err)
	}
}

func storeOverdraw(t *testing.T, s ledger.Store) {
	ctx := testenv.Context(t, 10*time.Second)
	user := opened(t, s, 100)
	_, applied, err := s.Apply(ctx, change(ledger.KindWithdrawal, user, 101, "too-much"))
	if !errors.Is(err, ledger.ErrInsufficientFunds) || applied {
		t.Fatalf("err = %v, applied %v; want ledger.ErrInsufficientFunds", err, applied)
	}
	if b := balance(t, s, user); b != 100 {
		t.Fatalf("balance = %d, want 100 unchanged", b)
	}
	if c := countKind(history(t, s, user), ledger.KindWithdrawal); c != 0 {
		t.Fatalf("%d withdrawals recorded, want none", c)
	}
	// The refused key was not used up: the same operation succeeds once
	// the balance allows it.
	if _, _, err := s.Apply(ctx, change(ledger.KindDeposit, user, 1, "top-up")); err != nil {
		t.Fatal(err)
	}
	rec, applied, err := s.Apply(ctx, change(ledger.KindWithdrawal, user, 101, "too-much"))
	if err != nil || !applied || rec.BalanceAfter != 0 {
		t.Fatalf("retry after top-up = %+v, %v, %v", rec, applied, err)
	}
}

// storeConcurrentWithdrawals races 20 withdrawals of 10 on a balance of
// 100: exactly 10 succeed, each leaving a different balance.
func storeConcurrentWithdrawals(t *testing.T, s ledger.Store) {
	ctx := testenv.Context(t, 60*time.Second)
	user := opened(t, s, 100)
	const n = 20
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		ok, refused int
		other       []error
		balances    = map[int64]bool{}
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			rec, _, err := s.Apply(ctx, change(ledger.KindWithdrawal, user, 10, fmt.Sprint("w", i)))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
				balances[rec.BalanceAfter] = true
			case errors.Is(err, ledger.ErrInsufficientFunds):
				refused++
			default:
				other = append(other, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok != 10 || refused != 10 || len(other) > 0 {
		t.Fatalf("%d succeeded, %d refused, errors %v; want 10, 10, none", ok, refused, other)
	}
	if b := balance(t, s, user); b != 0 {
		t.Fatalf("balance = %d, want 0", b)
	}
	for b := int64(0); b < 100; b += 10 {
		if !balances[b] {
			t.Fatalf("no withdrawal left the balance at %d: %v", b, balances)
		}
	}
	if c := countKind(history(t, s, user), ledger.KindWithdrawal); c != 10 {
		t.Fatalf("%d withdrawals recorded, want 10", c)
	}
}

func storeIdempotency(t *testing.T, s ledger.Store) {
	ctx := testenv.Context(t, 10*time.Second)
	user, other := opened(t, s, 100), opened(t, s, 100)
	first := change(ledger.KindDeposit, user, 25, "same-key")
	rec, applied, err := s.Apply(ctx, first)
	if err != nil || !applied || rec.BalanceAfter != 125 {
		t.Fatalf("first = %+v, %v, %v", rec, applied, err)
	}
	// The balance moves on; a retry (a new transaction id) still answers
	// the first transaction, as recorded.
	if _, _, err := s.Apply(ctx, change(ledger.KindWithdrawal, user, 125, "all")); err != nil {
		t.Fatal(err)
	}
	retry := change(ledger.KindDeposit, user, 25, "same-key")
	got, applied, err := s.Apply(ctx, retry)
	if err != nil || applied || got.ID != first.ID || got.BalanceAfter != 125 || got.Amount != 25 || got.Kind != ledger.KindDeposit {
		t.Fatalf("retry = %+v, applied %v, %v; want the first transaction", got, applied, err)
	}
	// A withdrawal that emptied the account answers its result, not
	// "insufficient balance".
	got, applied, err = s.Apply(ctx, change(ledger.KindWithdrawal, user, 125, "all"))
	if err != nil || applied || got.BalanceAfter != 0 {
		t.Fatalf("replayed withdrawal = %+v, %v, %v; want the recorded one", got, applied, err)
	}
	// Keys are the account's own.
	rec, applied, err = s.Apply(ctx, change(ledger.KindDeposit, other, 1, "same-key"))
	if err != nil || !applied || rec.BalanceAfter != 101 {
		t.Fatalf("another account's deposit under the key = %+v, %v, %v; want applied", rec, applied, err)
	}
	if b := balance(t, s, user); b != 0 {
		t.Fatalf("balance = %d, want 0", b)
	}
	if n := len(history(t, s, user)); n != 3 {
		t.Fatalf("%d transactions, want 3 (bonus, deposit, withdrawal)", n)
	}
}

func storeConcurrentRetries(t *testing.T, s ledger.Store) {
	ctx := testenv.Context(t, 30*time.Second)
	user := opened(t, s, 100)
	const n = 10
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		apps int
		ids  = map[string]bool{}
		errs []error
	)
	for range n {
		wg.Go(func() {
			rec, applied, err := s.Apply(ctx, change(ledger.KindDeposit, user, 5, "racing-key"))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			ids[rec.ID] = true
			if applied {
				apps++
			}
		})
	}
	wg.Wait()
	if apps != 1 || len(errs) > 0 || len(ids) != 1 {
		t.Fatalf("applied %d times, %d distinct answers, errors %v; want once, one answer, none", apps, len(ids), errs)
	}
	if b := balance(t, s, user); b != 105 {
		t.Fatalf("balance = %d, want 105", b)
	}
}

func storeOverflow(t *testing.T, s ledger.Store) {
	ctx := testenv.Context(t, 10*time.Second)
	user := opened(t, s, 100)
	_, applied, err := s.Apply(ctx, change(ledger.KindDeposit, user, math.MaxInt64, "huge"))
	if !errors.Is(err, ledger.ErrBalanceOverflow) || applied {
		t.Fatalf("err = %v, applied %v; want ledger.ErrBalanceOverflow", err, applied)
	}
	if b := balance(t, s, user); b != 100 {
		t.Fatalf("balance = %d, want 100", b)
	}
	// Up to the maximum is fine.
	rec, applied, err := s.Apply(ctx, change(ledger.KindDeposit, user, math.MaxInt64-100, "to-the-top"))
	if err != nil || !applied || rec.BalanceAfter != math.MaxInt64 {
		t.Fatalf("deposit to the maximum = %+v, %v, %v", rec, applied, err)
	}
}

func storePages(t *testing.T, s ledger.Store) {
	ctx := testenv.Context(t, 30*time.Second)
	user := opened(t, s, 100)
	opened(t, s, 100) // another account's history stays out
	const n = 25      // with the bonus
	for i := 1; i < n; i++ {
		if _, _, err := s.Apply(ctx, change(ledger.KindDeposit, user, int64(i), fmt.Sprint("d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var (
		all   []ledger.Transaction
		after *ledger.Cursor
		sizes []int
	)
	for {
		page, err := s.Transactions(ctx, user, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page))
		all = append(all, page...)
		if len(page) < 10 {
			break
		}
		last := page[len(page)-1]
		after = &ledger.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	if fmt.Sprint(sizes) != "[10 10 5]" || len(all) != n {
		t.Fatalf("page sizes %v, %d transactions; want [10 10 5], %d", sizes, len(all), n)
	}
	// Newest first: the last deposit leads, the bonus closes; balances
	// fall walking back through history.
	if all[0].IdempotencyKey != "d24" || all[n-1].Kind != ledger.KindWelcomeBonus {
		t.Fatalf("first %+v, last %+v", all[0], all[n-1])
	}
	for i := 1; i < n; i++ {
		if all[i].UserID != user || !all[i].CreatedAt.Before(all[i-1].CreatedAt) || all[i].BalanceAfter >= all[i-1].BalanceAfter {
			t.Fatalf("transactions %d and %d out of order: %+v, %+v", i-1, i, all[i-1], all[i])
		}
	}
}

// storeClose: a closed account keeps its balance and amounts, which still
// add up, loses the free text of its transactions, and refuses every
// change; closing twice, or an account that never opened, is fine.
func storeClose(t *testing.T, s ledger.Store) {
	ctx := testenv.Context(t, 10*time.Second)
	user := opened(t, s, 100)
	dep := change(ledger.KindDeposit, user, 30, "key naming ada@example.test")
	dep.Reason = "goodwill for ada@example.test"
	if _, _, err := s.Apply(ctx, dep); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Apply(ctx, change(ledger.KindWithdrawal, user, 20, "w1")); err != nil {
		t.Fatal(err)
	}
	closed, err := s.Close(ctx, user, uuid.NewString())
	if err != nil || !closed {
		t.Fatalf("Close = %v, %v; want closed", closed, err)
	}
	if again, err := s.Close(ctx, user, uuid.NewString()); err != nil || again {
		t.Fatalf("second Close = %v, %v; want nothing to do", again, err)
	}
	a, err := s.Account(ctx, user)
	if err != nil || a.Balance != 110 {
		t.Fatalf("account after Close = %+v, %v; want the balance of 110 kept", a, err)
	}
	txs, err := s.Transactions(ctx, user, nil, 10)
	if err != nil || len(txs) != 3 {
		t.Fatalf("transactions after Close = %+v, %v; want all 3", txs, err)
	}
	var sum int64
	for _, tx := range txs {
		switch tx.Kind {
		case ledger.KindWithdrawal:
			sum -= tx.Amount
		default:
			sum += tx.Amount
		}
		if tx.Reason != "" || tx.IdempotencyKey != "" && tx.IdempotencyKey != tx.ID {
			t.Errorf("transaction after Close keeps its text: %+v", tx)
		}
	}
	if sum != a.Balance {
		t.Fatalf("amounts add up to %d, balance %d", sum, a.Balance)
	}
	for _, c := range []ledger.Transaction{change(ledger.KindDeposit, user, 5, "d2"), change(ledger.KindWithdrawal, user, 5, "w2"), dep} {
		if _, _, err := s.Apply(ctx, c); !errors.Is(err, ledger.ErrAccountClosed) {
			t.Fatalf("%s on a closed account = %v, want ErrAccountClosed", c.Kind, err)
		}
	}
	// The deletion overtook the registration: the late bonus credits
	// nothing.
	early := uuid.NewString()
	if closed, err := s.Close(ctx, early, uuid.NewString()); err != nil || !closed {
		t.Fatalf("Close of an account never opened = %v, %v", closed, err)
	}
	if credited, err := s.CreditWelcome(ctx, welcome(early, uuid.NewString(), 100)); err != nil || credited {
		t.Fatalf("bonus on a closed account = %v, %v; want nothing credited", credited, err)
	}
	if a, err := s.Account(ctx, early); err != nil || a.Balance != 0 {
		t.Fatalf("account closed before it opened = %+v, %v; want an empty one", a, err)
	}
}
