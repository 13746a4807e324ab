package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
)

// ledgerMetrics is the expected exposition of the ledger metrics.
type ledgerMetrics struct {
	welcome, deposited, debited int
	// ops holds the non-zero operation counts by "op/outcome".
	ops map[string]int
}

func (m ledgerMetrics) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, `
# HELP loyalty_points_credited_total Points credited to accounts, by kind: welcome_bonus, deposit.
# TYPE loyalty_points_credited_total counter
loyalty_points_credited_total{kind="deposit"} %d
loyalty_points_credited_total{kind="welcome_bonus"} %d
# HELP loyalty_points_debited_total Points debited from accounts by withdrawals.
# TYPE loyalty_points_debited_total counter
loyalty_points_debited_total %d
# HELP loyalty_balance_operations_total Deposits and withdrawals by op and outcome: applied, replayed (same idempotency key, nothing moved), insufficient_funds, rejected (authentication, permission, input, unknown account, reused key, overflow).
# TYPE loyalty_balance_operations_total counter
`, m.deposited, m.welcome, m.debited)
	for _, op := range []string{"deposit", "withdraw"} {
		for _, o := range []string{"applied", "insufficient_funds", "rejected", "replayed"} {
			fmt.Fprintf(&b, "loyalty_balance_operations_total{op=%q,outcome=%q} %d\n", op, o, m.ops[op+"/"+o])
		}
	}
	return b.String()
}

func TestMetricsCountPointsAndOperations(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := ledger.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	svc, _, auth := fixture(t, ledger.WithMetrics(m))
	ctx := context.Background()
	deposit := func(token string, c ledger.Change) error { _, err := svc.Deposit(ctx, token, c); return err }
	withdraw := func(token string, c ledger.Change) error { _, err := svc.Withdraw(ctx, token, c); return err }
	const carol = "2c5ea4c0-4067-11e9-8bad-9b1deb4d3b7d"

	steps := []struct {
		name    string
		do      func() error
		wantErr error // nil: success; errAny: any error
		want    ledgerMetrics
	}{
		{"nothing yet", func() error { return nil }, nil, ledgerMetrics{}},
		{"welcome bonus", func() error { _, err := svc.CreditWelcomeBonus(ctx, carol, event); return err }, nil,
			ledgerMetrics{welcome: 100}},
		{"repeated welcome bonus moves nothing", func() error { _, err := svc.CreditWelcomeBonus(ctx, carol, event); return err }, nil,
			ledgerMetrics{welcome: 100}},
		{"deposit", func() error {
			return deposit(adminToken, ledger.Change{UserID: alice, Amount: 25, IdempotencyKey: "d1"})
		}, nil,
			ledgerMetrics{welcome: 100, deposited: 25, ops: map[string]int{"deposit/applied": 1}}},
		{"replayed deposit", func() error {
			return deposit(adminToken, ledger.Change{UserID: alice, Amount: 25, IdempotencyKey: "d1"})
		}, nil,
			ledgerMetrics{welcome: 100, deposited: 25, ops: map[string]int{"deposit/applied": 1, "deposit/replayed": 1}}},
		{"withdrawal", func() error {
			return withdraw(adminToken, ledger.Change{UserID: alice, Amount: 120, IdempotencyKey: "w1"})
		}, nil,
			ledgerMetrics{welcome: 100, deposited: 25, debited: 120, ops: map[string]int{"deposit/applied": 1, "deposit/replayed": 1, "withdraw/applied": 1}}},
		{"overdraft", func() error {
			return withdraw(adminToken, ledger.Change{UserID: alice, Amount: 6, IdempotencyKey: "w2"})
		}, ledger.ErrInsufficientFunds,
			ledgerMetrics{welcome: 100, deposited: 25, debited: 120, ops: map[string]int{"deposit/applied": 1, "deposit/replayed": 1, "withdraw/applied": 1, "withdraw/insufficient_funds": 1}}},
		{"not an administrator", func() error {
			return withdraw(aliceToken, ledger.Change{UserID: alice, Amount: 1, IdempotencyKey: "w3"})
		}, ledger.ErrForbidden,
			ledgerMetrics{welcome: 100, deposited: 25, debited: 120, ops: map[string]int{"deposit/applied": 1, "deposit/replayed": 1, "withdraw/applied": 1, "withdraw/insufficient_funds": 1, "withdraw/rejected": 1}}},
		{"invalid amount", func() error {
			return deposit(adminToken, ledger.Change{UserID: alice, Amount: 0, IdempotencyKey: "d2"})
		}, errAny,
			ledgerMetrics{welcome: 100, deposited: 25, debited: 120, ops: map[string]int{"deposit/applied": 1, "deposit/replayed": 1, "deposit/rejected": 1, "withdraw/applied": 1, "withdraw/insufficient_funds": 1, "withdraw/rejected": 1}}},
		{"reused key", func() error {
			return deposit(adminToken, ledger.Change{UserID: alice, Amount: 26, IdempotencyKey: "d1"})
		}, ledger.ErrIdempotencyKeyReused,
			ledgerMetrics{welcome: 100, deposited: 25, debited: 120, ops: map[string]int{"deposit/applied": 1, "deposit/replayed": 1, "deposit/rejected": 2, "withdraw/applied": 1, "withdraw/insufficient_funds": 1, "withdraw/rejected": 1}}},
		{"sso unavailable is not the request's fault", func() error {
			auth.err = ledger.ErrAuthUnavailable
			defer func() { auth.err = nil }()
			return deposit(adminToken, ledger.Change{UserID: alice, Amount: 1, IdempotencyKey: "d3"})
		}, ledger.ErrAuthUnavailable,
			ledgerMetrics{welcome: 100, deposited: 25, debited: 120, ops: map[string]int{"deposit/applied": 1, "deposit/replayed": 1, "deposit/rejected": 2, "withdraw/applied": 1, "withdraw/insufficient_funds": 1, "withdraw/rejected": 1}}},
	}
	for _, st := range steps {
		err := st.do()
		switch {
		case st.wantErr == errAny && err == nil, st.wantErr != errAny && !errors.Is(err, st.wantErr):
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(st.want.String())); err != nil {
			t.Fatalf("after %q: %v", st.name, err)
		}
	}
}

var errAny = errors.New("any error")
