package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
	"github.com/ssokit/platform/services/loyalty-points/internal/postgres"
)

// ownerAuth authenticates every token as an administrator; the use cases'
// access rules have their own tests.
type ownerAuth struct{}

func (ownerAuth) Authenticate(context.Context, string) (ledger.Caller, error) {
	return ledger.Caller{UserID: "9b2f4b4e-1a0e-4d39-9a38-0f3c4a8d1e55", Admin: true}, nil
}

// TestHistoryPagingOverPostgres walks page tokens of the use case over the
// real store, including transactions applied within the same millisecond.
func TestHistoryPagingOverPostgres(t *testing.T) {
	l := postgres.NewLedger(testDB(t))
	svc, err := ledger.NewService(l, ownerAuth{}, ledger.Config{WelcomeBonus: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Context(t, 30*time.Second)
	user := openAccount(t, l, 100)
	const n = 47
	for i := 1; i < n; i++ {
		if _, err := svc.Deposit(ctx, "admin", ledger.Change{UserID: user, Amount: 1, IdempotencyKey: fmt.Sprint("k", i)}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	var token string
	pages := 0
	for {
		page, err := svc.History(ctx, "admin", ledger.HistoryQuery{UserID: user, PageSize: 20, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, tx := range page.Transactions {
			if seen[tx.ID] {
				t.Fatalf("transaction %s on two pages", tx.ID)
			}
			seen[tx.ID] = true
		}
		if page.NextPageToken == "" {
			break
		}
		token = page.NextPageToken
	}
	if pages != 3 || len(seen) != n {
		t.Fatalf("%d pages, %d transactions; want 3, %d", pages, len(seen), n)
	}
}
