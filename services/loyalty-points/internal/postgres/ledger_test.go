package postgres_test

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
	"github.com/ssokit/platform/services/loyalty-points/internal/postgres"
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func welcome(userID, eventID string, amount int64) ledger.Transaction {
	return ledger.Transaction{ID: newID(), UserID: userID, Kind: ledger.KindWelcomeBonus, Amount: amount, Reason: "welcome bonus", EventID: eventID}
}

func change(kind ledger.Kind, userID string, amount int64, key string) ledger.Transaction {
	return ledger.Transaction{ID: newID(), UserID: userID, Kind: kind, Amount: amount, Reason: "test", IdempotencyKey: key}
}

// openAccount returns a new user whose account holds balance, credited as
// its welcome bonus.
func openAccount(t *testing.T, l *postgres.Ledger, balance int64) string {
	t.Helper()
	user := uuid.NewString()
	credited, err := l.CreditWelcome(testenv.Context(t, 10*time.Second), welcome(user, uuid.NewString(), balance))
	if err != nil || !credited {
		t.Fatalf("open account: %v, %v", credited, err)
	}
	return user
}

func balance(t *testing.T, l *postgres.Ledger, user string) int64 {
	t.Helper()
	a, err := l.Account(testenv.Context(t, 10*time.Second), user)
	if err != nil {
		t.Fatalf("account %s: %v", user, err)
	}
	return a.Balance
}

// countTransactions counts the user's transactions of kind in the table.
func countTransactions(t *testing.T, db *sqlx.DB, user string, kind ledger.Kind) int {
	t.Helper()
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM transactions WHERE user_id = $1 AND kind = $2`, user, string(kind)); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrateTwice(t *testing.T) {
	db := testDB(t)
	if err := postgres.Migrate(testenv.Context(t, 10*time.Second), db); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	var versions int
	if err := db.Get(&versions, `SELECT count(*) FROM schema_migrations`); err != nil || versions != 1 {
		t.Fatalf("schema_migrations rows = %d, %v; want 1", versions, err)
	}
}

func TestWelcomeBonusIsCreditedOncePerUser(t *testing.T) {
	db := testDB(t)
	l := postgres.NewLedger(db)
	ctx := testenv.Context(t, 30*time.Second)
	user, event := uuid.NewString(), uuid.NewString()

	credited, err := l.CreditWelcome(ctx, welcome(user, event, 100))
	if err != nil || !credited {
		t.Fatalf("first event: %v, %v", credited, err)
	}
	a, err := l.Account(ctx, user)
	if err != nil || a.UserID != user || a.Balance != 100 || a.UpdatedAt.IsZero() {
		t.Fatalf("account = %+v, %v; want balance 100", a, err)
	}
	tests := []struct{ name, event string }{
		{"the same event redelivered", event},
		{"another event for the same user", uuid.NewString()},
	}
	for _, tt := range tests {
		credited, err := l.CreditWelcome(ctx, welcome(user, tt.event, 100))
		if err != nil || credited {
			t.Fatalf("%s: credited %v, %v; want no credit", tt.name, credited, err)
		}
	}
	if b := balance(t, l, user); b != 100 {
		t.Fatalf("balance = %d after repeats, want 100", b)
	}
	txs, err := l.Transactions(ctx, user, nil, 10)
	if err != nil || len(txs) != 1 {
		t.Fatalf("transactions = %d, %v; want the one bonus", len(txs), err)
	}
	got := txs[0]
	if got.Kind != ledger.KindWelcomeBonus || got.Amount != 100 || got.BalanceAfter != 100 || got.EventID != event || got.Reason != "welcome bonus" || !got.CreatedAt.Equal(a.UpdatedAt) {
		t.Fatalf("bonus = %+v", got)
	}
}

func TestConcurrentWelcomeEventsCreditOnce(t *testing.T) {
	db := testDB(t)
	l := postgres.NewLedger(db)
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
			ok, err := l.CreditWelcome(ctx, welcome(user, uuid.NewString(), 100))
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
	if len(errs) > 0 || credited != 1 {
		t.Fatalf("credited %d times, errors %v; want once, none", credited, errs)
	}
	if b := balance(t, l, user); b != 100 {
		t.Fatalf("balance = %d, want 100", b)
	}
	if c := countTransactions(t, db, user, ledger.KindWelcomeBonus); c != 1 {
		t.Fatalf("%d bonus rows, want 1", c)
	}
}

func TestMissingAccount(t *testing.T) {
	l := postgres.NewLedger(testDB(t))
	ctx := testenv.Context(t, 10*time.Second)
	user := uuid.NewString()
	if _, err := l.Account(ctx, user); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Account: %v, want ErrNotFound", err)
	}
	if _, err := l.Transactions(ctx, user, nil, 10); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Transactions: %v, want ErrNotFound", err)
	}
	for _, kind := range []ledger.Kind{ledger.KindDeposit, ledger.KindWithdrawal} {
		if _, _, err := l.Apply(ctx, change(kind, user, 5, "k")); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("Apply %s: %v, want ErrNotFound", kind, err)
		}
	}
}

func TestDepositAndWithdraw(t *testing.T) {
	db := testDB(t)
	l := postgres.NewLedger(db)
	ctx := testenv.Context(t, 10*time.Second)
	user := openAccount(t, l, 100)

	dep := change(ledger.KindDeposit, user, 40, "d1")
	rec, applied, err := l.Apply(ctx, dep)
	if err != nil || !applied || rec.BalanceAfter != 140 || rec.ID != dep.ID || rec.CreatedAt.IsZero() {
		t.Fatalf("deposit = %+v, %v, %v", rec, applied, err)
	}
	rec, applied, err = l.Apply(ctx, change(ledger.KindWithdrawal, user, 140, "w1"))
	if err != nil || !applied || rec.BalanceAfter != 0 {
		t.Fatalf("withdraw = %+v, %v, %v", rec, applied, err)
	}
	a, err := l.Account(ctx, user)
	if err != nil || a.Balance != 0 || !a.UpdatedAt.Equal(rec.CreatedAt) {
		t.Fatalf("account = %+v, %v; want 0, updated at the withdrawal", a, err)
	}
}

func TestWithdrawOverBalanceTakesNothing(t *testing.T) {
	db := testDB(t)
	l := postgres.NewLedger(db)
	ctx := testenv.Context(t, 10*time.Second)
	user := openAccount(t, l, 100)

	_, applied, err := l.Apply(ctx, change(ledger.KindWithdrawal, user, 101, "too-much"))
	if !errors.Is(err, ledger.ErrInsufficientFunds) || applied {
		t.Fatalf("err = %v, applied %v; want ErrInsufficientFunds", err, applied)
	}
	if b := balance(t, l, user); b != 100 {
		t.Fatalf("balance = %d, want 100 unchanged", b)
	}
	if c := countTransactions(t, db, user, ledger.KindWithdrawal); c != 0 {
		t.Fatalf("%d withdrawal rows, want none", c)
	}
	// The refused key was not used up: the same operation can succeed
	// once the balance allows it.
	if _, _, err := l.Apply(ctx, change(ledger.KindDeposit, user, 1, "top-up")); err != nil {
		t.Fatal(err)
	}
	rec, applied, err := l.Apply(ctx, change(ledger.KindWithdrawal, user, 101, "too-much"))
	if err != nil || !applied || rec.BalanceAfter != 0 {
		t.Fatalf("retry after top-up = %+v, %v, %v", rec, applied, err)
	}
}

// TestConcurrentWithdrawalsNeverOverdraw races 20 withdrawals of 10 on a
// balance of 100: exactly 10 succeed.
func TestConcurrentWithdrawalsNeverOverdraw(t *testing.T) {
	db := testDB(t)
	l := postgres.NewLedger(db)
	ctx := testenv.Context(t, 60*time.Second)
	user := openAccount(t, l, 100)

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
			rec, _, err := l.Apply(ctx, change(ledger.KindWithdrawal, user, 10, fmt.Sprint("w", i)))
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
	if b := balance(t, l, user); b != 0 {
		t.Fatalf("balance = %d, want 0", b)
	}
	// Each success saw a distinct balance: 90, 80, ..., 0.
	for b := int64(0); b < 100; b += 10 {
		if !balances[b] {
			t.Fatalf("no withdrawal left the balance at %d: %v", b, balances)
		}
	}
	if c := countTransactions(t, db, user, ledger.KindWithdrawal); c != 10 {
		t.Fatalf("%d withdrawal rows, want 10", c)
	}
}

func TestApplyIsIdempotent(t *testing.T) {
	db := testDB(t)
	l := postgres.NewLedger(db)
	ctx := testenv.Context(t, 30*time.Second)
	user := openAccount(t, l, 100)

	first := change(ledger.KindDeposit, user, 25, "same-key")
	rec, applied, err := l.Apply(ctx, first)
	if err != nil || !applied || rec.BalanceAfter != 125 {
		t.Fatalf("first = %+v, %v, %v", rec, applied, err)
	}
	again := change(ledger.KindDeposit, user, 25, "same-key") // a retry: a new transaction id
	rec2, applied, err := l.Apply(ctx, again)
	if err != nil || applied || rec2.ID != first.ID || rec2.BalanceAfter != 125 || rec2.Amount != 25 || rec2.Kind != ledger.KindDeposit {
		t.Fatalf("retry = %+v, applied %v, %v; want the first transaction", rec2, applied, err)
	}
	if b := balance(t, l, user); b != 125 {
		t.Fatalf("balance = %d, want 125 (credited once)", b)
	}

	// Concurrent retries of one new key: exactly one applies.
	const n = 10
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		apps int
		errs []error
	)
	for range n {
		wg.Go(func() {
			_, applied, err := l.Apply(ctx, change(ledger.KindDeposit, user, 5, "racing-key"))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if applied {
				apps++
			}
		})
	}
	wg.Wait()
	if apps != 1 || len(errs) > 0 {
		t.Fatalf("applied %d times, errors %v; want once", apps, errs)
	}
	if b := balance(t, l, user); b != 130 {
		t.Fatalf("balance = %d, want 130", b)
	}
}

// TestReplayAfterTheBalanceMoved: a retried withdrawal that emptied the
// account answers its recorded result, not "insufficient balance".
func TestReplayAfterTheBalanceMoved(t *testing.T) {
	l := postgres.NewLedger(testDB(t))
	ctx := testenv.Context(t, 10*time.Second)
	user := openAccount(t, l, 100)
	if _, _, err := l.Apply(ctx, change(ledger.KindWithdrawal, user, 100, "all")); err != nil {
		t.Fatal(err)
	}
	rec, applied, err := l.Apply(ctx, change(ledger.KindWithdrawal, user, 100, "all"))
	if err != nil || applied || rec.BalanceAfter != 0 {
		t.Fatalf("replay = %+v, %v, %v; want the recorded withdrawal", rec, applied, err)
	}
}

func TestDepositBeyondTheMaximum(t *testing.T) {
	l := postgres.NewLedger(testDB(t))
	ctx := testenv.Context(t, 10*time.Second)
	user := openAccount(t, l, 100)
	_, _, err := l.Apply(ctx, change(ledger.KindDeposit, user, math.MaxInt64, "huge"))
	if !errors.Is(err, ledger.ErrBalanceOverflow) {
		t.Fatalf("err = %v, want ErrBalanceOverflow", err)
	}
	if b := balance(t, l, user); b != 100 {
		t.Fatalf("balance = %d, want 100", b)
	}
}

// TestSchemaRefusesANegativeBalance proves the last line of defence: even
// a direct write cannot take a balance below zero.
func TestSchemaRefusesANegativeBalance(t *testing.T) {
	db := testDB(t)
	user := openAccount(t, postgres.NewLedger(db), 5)
	_, err := db.Exec(`UPDATE accounts SET balance = balance - 6 WHERE user_id = $1`, user)
	if pqErr := pq.As(err, pqerror.CheckViolation); pqErr == nil || pqErr.Constraint != "accounts_balance_check" {
		t.Fatalf("err = %v, want a violation of accounts_balance_check", err)
	}
	_, err = db.Exec(`INSERT INTO transactions (id, user_id, kind, amount, balance_after, event_id)
		VALUES ($1, $2, 'WELCOME_BONUS', 5, 10, $3)`, newID(), user, uuid.NewString())
	if pqErr := pq.As(err, pqerror.UniqueViolation); pqErr == nil || pqErr.Constraint != "transactions_one_welcome_bonus" {
		t.Fatalf("err = %v, want a violation of transactions_one_welcome_bonus", err)
	}
}

func TestTransactionsPages(t *testing.T) {
	l := postgres.NewLedger(testDB(t))
	ctx := testenv.Context(t, 30*time.Second)
	user := openAccount(t, l, 100)
	const n = 25 // with the bonus
	for i := 1; i < n; i++ {
		if _, _, err := l.Apply(ctx, change(ledger.KindDeposit, user, int64(i), fmt.Sprint("d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var (
		all   []ledger.Transaction
		after *ledger.Cursor
		sizes []int
	)
	for {
		page, err := l.Transactions(ctx, user, after, 10)
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
		if !all[i].CreatedAt.Before(all[i-1].CreatedAt) || all[i].BalanceAfter >= all[i-1].BalanceAfter {
			t.Fatalf("transactions %d and %d out of order: %+v, %+v", i-1, i, all[i-1], all[i])
		}
	}
}
