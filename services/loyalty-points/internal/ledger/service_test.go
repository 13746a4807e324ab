package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger/ledgertest"
)

const (
	alice = "0f8fad5b-d9cb-469f-a165-70867728950e"
	bob   = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	// nobody has no account.
	nobody = "16fd2706-8baf-433b-82eb-8c7fada847da"
	event  = "a3bb189e-8bf9-4888-9912-ace4e6543002"

	aliceToken = "alice-token"
	bobToken   = "bob-token"
	adminToken = "admin-token"
)

// fixture returns a Service over fakes where alice holds 100 points and
// bob 50; "admin" is an administrator without an account.
func fixture(t *testing.T, opts ...ledger.Option) (*ledger.Service, *ledgertest.Store, *fakeAuth) {
	t.Helper()
	store := ledgertest.NewStore()
	store.Open(alice, 100)
	store.Open(bob, 50)
	auth := &fakeAuth{callers: map[string]ledger.Caller{
		aliceToken: {UserID: alice},
		bobToken:   {UserID: bob},
		adminToken: {UserID: "9b2f4b4e-1a0e-4d39-9a38-0f3c4a8d1e55", Admin: true},
	}}
	svc, err := ledger.NewService(store, auth, ledger.Config{WelcomeBonus: 100}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return svc, store, auth
}

func TestNewServiceNeedsAPositiveBonus(t *testing.T) {
	for _, bonus := range []int64{0, -1} {
		if _, err := ledger.NewService(ledgertest.NewStore(), &fakeAuth{}, ledger.Config{WelcomeBonus: bonus}); err == nil {
			t.Errorf("bonus %d accepted", bonus)
		}
	}
}

// TestAuthorization checks who may call what: every use case, every kind
// of caller.
func TestAuthorization(t *testing.T) {
	ops := map[string]func(s *ledger.Service, token, user string) error{
		"account": func(s *ledger.Service, token, user string) error {
			_, err := s.Account(context.Background(), token, user)
			return err
		},
		"history": func(s *ledger.Service, token, user string) error {
			_, err := s.History(context.Background(), token, ledger.HistoryQuery{UserID: user})
			return err
		},
		"deposit": func(s *ledger.Service, token, user string) error {
			_, err := s.Deposit(context.Background(), token, ledger.Change{UserID: user, Amount: 5, IdempotencyKey: "k-" + token})
			return err
		},
		"withdraw": func(s *ledger.Service, token, user string) error {
			_, err := s.Withdraw(context.Background(), token, ledger.Change{UserID: user, Amount: 5, IdempotencyKey: "k-" + token})
			return err
		},
	}
	tests := []struct {
		op, name, token, user string
		want                  error
	}{
		{"account", "no token", "", alice, ledger.ErrUnauthenticated},
		{"account", "unknown token", "forged", alice, ledger.ErrInvalidToken},
		{"account", "owner", aliceToken, alice, nil},
		{"account", "owner, upper-case id", aliceToken, strings.ToUpper(alice), nil},
		{"account", "another user", bobToken, alice, ledger.ErrForbidden},
		{"account", "admin", adminToken, alice, nil},
		{"account", "admin, no such account", adminToken, nobody, ledger.ErrNotFound},
		{"history", "no token", "", alice, ledger.ErrUnauthenticated},
		{"history", "owner", aliceToken, alice, nil},
		{"history", "another user", bobToken, alice, ledger.ErrForbidden},
		{"history", "admin", adminToken, bob, nil},
		{"history", "admin, no such account", adminToken, nobody, ledger.ErrNotFound},
		{"deposit", "no token", "", alice, ledger.ErrUnauthenticated},
		{"deposit", "owner is not admin", aliceToken, alice, ledger.ErrForbidden},
		{"deposit", "another user", bobToken, alice, ledger.ErrForbidden},
		{"deposit", "admin", adminToken, alice, nil},
		{"deposit", "admin, no such account", adminToken, nobody, ledger.ErrNotFound},
		{"withdraw", "unknown token", "forged", alice, ledger.ErrInvalidToken},
		{"withdraw", "owner is not admin", aliceToken, alice, ledger.ErrForbidden},
		{"withdraw", "admin", adminToken, alice, nil},
	}
	for _, tt := range tests {
		t.Run(tt.op+"/"+tt.name, func(t *testing.T) {
			svc, store, _ := fixture(t)
			before := store.Calls()
			err := ops[tt.op](svc, tt.token, tt.user)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want != nil && tt.want != ledger.ErrNotFound && store.Calls() != before {
				t.Errorf("a refused call reached the store")
			}
		})
	}
}

func TestAuthenticationFailuresPassThrough(t *testing.T) {
	svc, store, auth := fixture(t)
	down := fmt.Errorf("%w: connection refused", ledger.ErrAuthUnavailable)
	auth.err = down
	_, err := svc.Account(context.Background(), aliceToken, alice)
	if !errors.Is(err, ledger.ErrAuthUnavailable) {
		t.Fatalf("err = %v, want ErrAuthUnavailable", err)
	}
	if store.Calls() != 2 { // the two opened by the fixture
		t.Errorf("store was called without an authenticated caller")
	}

	auth.err = nil
	auth.callers["blank"] = ledger.Caller{}
	if _, err := svc.Account(context.Background(), "blank", alice); err == nil || errors.Is(err, ledger.ErrForbidden) {
		t.Fatalf("a caller without user id: err = %v, want an internal error", err)
	}
}

func TestChangeValidation(t *testing.T) {
	tests := []struct {
		name  string
		c     ledger.Change
		field string // "" means valid
	}{
		{"valid", ledger.Change{UserID: alice, Amount: 1, IdempotencyKey: "k"}, ""},
		{"valid with reason", ledger.Change{UserID: alice, Amount: 7, Reason: "prize ✓", IdempotencyKey: "k"}, ""},
		{"upper-case user id", ledger.Change{UserID: strings.ToUpper(alice), Amount: 1, IdempotencyKey: "k"}, ""},
		{"zero amount", ledger.Change{UserID: alice, Amount: 0, IdempotencyKey: "k"}, "amount"},
		{"negative amount", ledger.Change{UserID: alice, Amount: -10, IdempotencyKey: "k"}, "amount"},
		{"user id not a UUID", ledger.Change{UserID: "alice", Amount: 1, IdempotencyKey: "k"}, "user_id"},
		{"user id in braces", ledger.Change{UserID: "{" + alice + "}", Amount: 1, IdempotencyKey: "k"}, "user_id"},
		{"empty user id", ledger.Change{Amount: 1, IdempotencyKey: "k"}, "user_id"},
		{"no idempotency key", ledger.Change{UserID: alice, Amount: 1}, "idempotency_key"},
		{"idempotency key too long", ledger.Change{UserID: alice, Amount: 1, IdempotencyKey: strings.Repeat("k", 201)}, "idempotency_key"},
		{"idempotency key with NUL", ledger.Change{UserID: alice, Amount: 1, IdempotencyKey: "a\x00b"}, "idempotency_key"},
		{"reason too long", ledger.Change{UserID: alice, Amount: 1, Reason: strings.Repeat("é", 501), IdempotencyKey: "k"}, "reason"},
		{"reason of 500 characters", ledger.Change{UserID: alice, Amount: 1, Reason: strings.Repeat("é", 500), IdempotencyKey: "k"}, ""},
		{"reason with NUL", ledger.Change{UserID: alice, Amount: 1, Reason: "\x00", IdempotencyKey: "k"}, "reason"},
	}
	for _, tt := range tests {
		for _, kind := range []string{"deposit", "withdraw"} {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				svc, store, _ := fixture(t)
				before := store.Calls()
				var err error
				if kind == "deposit" {
					_, err = svc.Deposit(context.Background(), adminToken, tt.c)
				} else {
					_, err = svc.Withdraw(context.Background(), adminToken, tt.c)
				}
				var inv *ledger.InvalidArgumentError
				if tt.field == "" {
					if err != nil {
						t.Fatalf("err = %v, want none", err)
					}
					return
				}
				if !errors.As(err, &inv) || inv.Field != tt.field {
					t.Fatalf("err = %v, want an invalid %s", err, tt.field)
				}
				if store.Calls() != before {
					t.Error("invalid input reached the store")
				}
			})
		}
	}
}

func TestDepositAndWithdrawReturnTheNewBalance(t *testing.T) {
	svc, store, _ := fixture(t)
	ctx := context.Background()
	bal, err := svc.Deposit(ctx, adminToken, ledger.Change{UserID: alice, Amount: 25, Reason: "prize", IdempotencyKey: "d1"})
	if err != nil || bal != 125 {
		t.Fatalf("deposit = %d, %v; want 125", bal, err)
	}
	bal, err = svc.Withdraw(ctx, adminToken, ledger.Change{UserID: strings.ToUpper(alice), Amount: 125, IdempotencyKey: "w1"})
	if err != nil || bal != 0 {
		t.Fatalf("withdraw = %d, %v; want 0", bal, err)
	}
	_, err = svc.Withdraw(ctx, adminToken, ledger.Change{UserID: alice, Amount: 1, IdempotencyKey: "w2"})
	if !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Fatalf("overdraw: err = %v, want ErrInsufficientFunds", err)
	}
	if a, _ := store.Peek(alice); a.Balance != 0 {
		t.Fatalf("balance = %d after a refused withdrawal, want 0", a.Balance)
	}
	recorded := store.Recorded()
	last := recorded[len(recorded)-1]
	if last.Kind != ledger.KindWithdrawal || last.UserID != alice || last.Amount != 125 || last.IdempotencyKey != "w1" {
		t.Fatalf("last transaction = %+v", last)
	}
}

// TestIdempotency checks the decisions on a repeated idempotency key: the
// same operation is answered from the record, a different one refused.
func TestIdempotency(t *testing.T) {
	first := ledger.Change{UserID: alice, Amount: 30, Reason: "refund", IdempotencyKey: "op-1"}
	tests := []struct {
		name     string
		withdraw bool
		again    ledger.Change
		want     error
	}{
		{"same deposit", false, first, nil},
		{"same deposit, upper-case user id", false, ledger.Change{UserID: strings.ToUpper(alice), Amount: 30, Reason: "refund", IdempotencyKey: "op-1"}, nil},
		{"other amount", false, ledger.Change{UserID: alice, Amount: 31, Reason: "refund", IdempotencyKey: "op-1"}, ledger.ErrIdempotencyKeyReused},
		{"other reason", false, ledger.Change{UserID: alice, Amount: 30, Reason: "bonus", IdempotencyKey: "op-1"}, ledger.ErrIdempotencyKeyReused},
		{"withdrawal under a deposit's key", true, first, ledger.ErrIdempotencyKeyReused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, store, _ := fixture(t)
			ctx := context.Background()
			if bal, err := svc.Deposit(ctx, adminToken, first); err != nil || bal != 130 {
				t.Fatalf("first deposit = %d, %v", bal, err)
			}
			// A later operation moves the balance on; a replay still
			// answers the balance the first one produced.
			if bal, err := svc.Withdraw(ctx, adminToken, ledger.Change{UserID: alice, Amount: 100, IdempotencyKey: "op-2"}); err != nil || bal != 30 {
				t.Fatalf("withdraw = %d, %v", bal, err)
			}
			txs := len(store.Recorded())
			var (
				bal int64
				err error
			)
			if tt.withdraw {
				bal, err = svc.Withdraw(ctx, adminToken, tt.again)
			} else {
				bal, err = svc.Deposit(ctx, adminToken, tt.again)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want == nil && bal != 130 {
				t.Fatalf("replay = %d, want the first result 130", bal)
			}
			if a, _ := store.Peek(alice); len(store.Recorded()) != txs || a.Balance != 30 {
				t.Fatalf("a repeated key changed the account: %d transactions, balance %d", len(store.Recorded()), a.Balance)
			}
		})
	}
}

func TestIdempotencyKeysAreScopedToTheAccount(t *testing.T) {
	svc, _, _ := fixture(t)
	ctx := context.Background()
	if _, err := svc.Deposit(ctx, adminToken, ledger.Change{UserID: alice, Amount: 1, IdempotencyKey: "shared"}); err != nil {
		t.Fatal(err)
	}
	bal, err := svc.Deposit(ctx, adminToken, ledger.Change{UserID: bob, Amount: 1, IdempotencyKey: "shared"})
	if err != nil || bal != 51 {
		t.Fatalf("bob's deposit = %d, %v; want 51", bal, err)
	}
}

func TestCreditWelcomeBonus(t *testing.T) {
	svc, store, _ := fixture(t)
	ctx := context.Background()
	const carol = "2c5ea4c0-4067-11e9-8bad-9b1deb4d3b7d"
	credited, err := svc.CreditWelcomeBonus(ctx, strings.ToUpper(carol), event)
	if err != nil || !credited {
		t.Fatalf("first credit = %v, %v", credited, err)
	}
	// The same event again, and another event for the same user.
	for _, ev := range []string{event, "c1a9e2d4-5b6f-4a7e-8c9d-0e1f2a3b4c5d"} {
		credited, err = svc.CreditWelcomeBonus(ctx, carol, ev)
		if err != nil || credited {
			t.Fatalf("repeat with event %s = %v, %v; want not credited", ev, credited, err)
		}
	}
	a, ok := store.Peek(carol)
	if !ok || a.Balance != 100 {
		t.Fatalf("carol's account = %+v, want balance 100", a)
	}
	recorded := store.Recorded()
	last := recorded[len(recorded)-1]
	if last.Kind != ledger.KindWelcomeBonus || last.UserID != carol || last.EventID != event || last.Amount != 100 || last.Reason != "welcome bonus" {
		t.Fatalf("bonus transaction = %+v", last)
	}
}

func TestCreditWelcomeBonusRefusesMalformedIDs(t *testing.T) {
	tests := []struct{ name, user, event, field string }{
		{"user id", "not-a-uuid", event, "user_id"},
		{"empty user id", "", event, "user_id"},
		{"event id", alice, "42", "event_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, store, _ := fixture(t)
			before := store.Calls()
			_, err := svc.CreditWelcomeBonus(context.Background(), tt.user, tt.event)
			var inv *ledger.InvalidArgumentError
			if !errors.As(err, &inv) || inv.Field != tt.field {
				t.Fatalf("err = %v, want an invalid %s", err, tt.field)
			}
			if store.Calls() != before {
				t.Error("a malformed event reached the store")
			}
		})
	}
}
