package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger/ledgertest"
)

// withHistory returns a fixture where alice's account has n transactions:
// the welcome bonus and n-1 deposits of 1 point.
func withHistory(t *testing.T, n int) (*ledger.Service, *ledgertest.Store) {
	t.Helper()
	svc, store, _ := fixture(t)
	for i := 1; i < n; i++ {
		if _, err := svc.Deposit(context.Background(), adminToken, ledger.Change{UserID: alice, Amount: 1, IdempotencyKey: fmt.Sprint("d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	return svc, store
}

func TestHistoryPageSize(t *testing.T) {
	svc, _ := withHistory(t, 130)
	tests := []struct {
		size, want int
		more       bool
	}{
		{0, ledger.DefaultPageSize, true},
		{1, 1, true},
		{50, 50, true},
		{100, 100, true},
		{1000, ledger.MaxPageSize, true},
		{130, 100, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			page, err := svc.History(context.Background(), aliceToken, ledger.HistoryQuery{UserID: alice, PageSize: tt.size})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Transactions) != tt.want || (page.NextPageToken != "") != tt.more {
				t.Fatalf("got %d transactions, next %q; want %d, more %v", len(page.Transactions), page.NextPageToken, tt.want, tt.more)
			}
		})
	}
	_, err := svc.History(context.Background(), aliceToken, ledger.HistoryQuery{UserID: alice, PageSize: -1})
	var inv *ledger.InvalidArgumentError
	if !errors.As(err, &inv) || inv.Field != "page_size" {
		t.Fatalf("negative page size: err = %v", err)
	}
}

func TestHistoryWalksEveryTransactionOnceNewestFirst(t *testing.T) {
	const n = 23
	svc, _ := withHistory(t, n)
	var (
		seen  []ledger.Transaction
		token string
		pages int
	)
	for {
		page, err := svc.History(context.Background(), adminToken, ledger.HistoryQuery{UserID: alice, PageSize: 5, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		seen = append(seen, page.Transactions...)
		if page.NextPageToken == "" {
			break
		}
		token = page.NextPageToken
	}
	if pages != 5 || len(seen) != n {
		t.Fatalf("%d pages, %d transactions; want 5 pages, %d", pages, len(seen), n)
	}
	if seen[0].IdempotencyKey != fmt.Sprint("d", n-1) || seen[n-1].Kind != ledger.KindWelcomeBonus {
		t.Fatalf("first %+v, last %+v: not newest first", seen[0], seen[n-1])
	}
	for i := 1; i < n; i++ {
		if !seen[i].CreatedAt.Before(seen[i-1].CreatedAt) {
			t.Fatalf("transactions %d and %d out of order", i-1, i)
		}
	}
}

func TestHistoryEndsWithoutTokenOnAnExactPage(t *testing.T) {
	svc, _ := withHistory(t, 10)
	page, err := svc.History(context.Background(), aliceToken, ledger.HistoryQuery{UserID: alice, PageSize: 10})
	if err != nil || len(page.Transactions) != 10 || page.NextPageToken != "" {
		t.Fatalf("page = %d transactions, next %q, %v; want 10 and no next page", len(page.Transactions), page.NextPageToken, err)
	}
}

func TestHistoryRefusesForeignPageTokens(t *testing.T) {
	svc, _ := withHistory(t, 5)
	page, err := svc.History(context.Background(), adminToken, ledger.HistoryQuery{UserID: alice, PageSize: 2})
	if err != nil || page.NextPageToken == "" {
		t.Fatalf("first page: %v, next %q", err, page.NextPageToken)
	}
	tests := []struct{ name, user, token string }{
		{"token of another account", bob, page.NextPageToken},
		{"not base64", alice, "!!!"},
		{"not a token", alice, "eyJ4IjoxfQ"}, // {"x":1}
		{"truncated", alice, page.NextPageToken[:len(page.NextPageToken)-4]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.History(context.Background(), adminToken, ledger.HistoryQuery{UserID: tt.user, PageToken: tt.token})
			var inv *ledger.InvalidArgumentError
			if !errors.As(err, &inv) || inv.Field != "page_token" {
				t.Fatalf("err = %v, want an invalid page_token", err)
			}
		})
	}
}
