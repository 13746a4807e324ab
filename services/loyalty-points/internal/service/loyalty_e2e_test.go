package service_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/testenv"
)

func TestWelcomeBonusIsCreditedOncePerUser(t *testing.T) {
	h := loyalty(t)
	u := h.newUser(t, false)
	first := registered(u)
	h.publish(t, first)
	h.waitForAccount(t, u)

	// The same event redelivered, and another event for the same user;
	// then a sentinel behind them on the single partition: once its
	// account exists, both repeats have been handled.
	h.publish(t, first)
	h.publish(t, registered(u))
	h.welcomed(t, h.newUser(t, false))

	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			if bal, code := tr.account(t, h, u.Token, u.ID); code != http.StatusOK || bal != welcomeBonus {
				t.Fatalf("balance = %d (%d), want %d", bal, code, welcomeBonus)
			}
			txs, next, code := tr.history(t, h, u.Token, u.ID, 0, "")
			want := tx{Kind: "TRANSACTION_KIND_WELCOME_BONUS", Amount: welcomeBonus, Reason: "welcome bonus"}
			if code != http.StatusOK || next != "" || len(txs) != 1 {
				t.Fatalf("history = %+v, next %q (%d); want the one bonus", txs, next, code)
			}
			if got := txs[0]; got.Kind != want.Kind || got.Amount != want.Amount || got.Reason != want.Reason || uuid.Validate(got.ID) != nil {
				t.Fatalf("bonus = %+v, want %+v", got, want)
			}
		})
	}
	var eventID string
	if err := h.db.Get(&eventID, `SELECT event_id FROM transactions WHERE user_id = $1`, u.ID); err != nil || eventID != first.GetEventId() {
		t.Fatalf("bonus event id = %q, %v; want the first event's %q", eventID, err, first.GetEventId())
	}
}

func TestReadAccess(t *testing.T) {
	h := loyalty(t)
	owner, other, admin := h.newUser(t, false), h.newUser(t, false), h.newUser(t, true)
	h.welcomed(t, owner)
	h.welcomed(t, other)
	tests := []struct {
		name, token, user string
		want              int
	}{
		{"own account", owner.Token, owner.ID, http.StatusOK},
		{"own account, upper-case id", owner.Token, strings.ToUpper(owner.ID), http.StatusOK},
		{"someone else's account", other.Token, owner.ID, http.StatusForbidden},
		{"no token", "", owner.ID, http.StatusUnauthorized},
		{"forged token", "eyJhbGciOiJFZERTQSJ9.e30.c2lnbmF0dXJl", owner.ID, http.StatusUnauthorized},
		{"administrator", admin.Token, owner.ID, http.StatusOK},
		{"account not opened yet", admin.Token, admin.ID, http.StatusNotFound},
		{"user id not a UUID", admin.Token, "not-a-uuid", http.StatusBadRequest},
	}
	for _, tr := range transports {
		for _, tt := range tests {
			t.Run(tr.name+"/"+tt.name, func(t *testing.T) {
				bal, code := tr.account(t, h, tt.token, tt.user)
				if code != tt.want {
					t.Fatalf("GetAccount: %d, want %d", code, tt.want)
				}
				if code == http.StatusOK && bal != welcomeBonus {
					t.Fatalf("balance = %d, want %d", bal, welcomeBonus)
				}
				if _, _, code := tr.history(t, h, tt.token, tt.user, 0, ""); code != tt.want {
					t.Fatalf("ListTransactions: %d, want %d", code, tt.want)
				}
			})
		}
	}
}

// TestRevokedTokenIsRefused: loyalty-points asks sso about every token, so
// a logout takes effect here at once.
func TestRevokedTokenIsRefused(t *testing.T) {
	h := loyalty(t)
	u := h.newUser(t, false)
	h.welcomed(t, u)
	if _, code := transports[0].account(t, h, u.Token, u.ID); code != http.StatusOK {
		t.Fatalf("before logout: %d", code)
	}
	if _, err := h.auth.Logout(withBearer(testenv.Context(t, 10*time.Second), u.Token), &ssov1.LogoutRequest{RefreshToken: u.Refresh}); err != nil {
		t.Fatalf("sso logout: %v", err)
	}
	for _, tr := range transports {
		if _, code := tr.account(t, h, u.Token, u.ID); code != http.StatusUnauthorized {
			t.Errorf("%s after logout: %d, want 401", tr.name, code)
		}
	}
}

func TestDepositAndWithdraw(t *testing.T) {
	h := loyalty(t)
	admin := h.newUser(t, true)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			u := h.newUser(t, false)
			h.welcomed(t, u)
			key := func(s string) string { return tr.name + "-" + s + "-" + u.ID }

			if _, code := tr.deposit(t, h, u.Token, u.ID, 50, "self-service", key("self")); code != http.StatusForbidden {
				t.Fatalf("deposit by the owner: %d, want 403", code)
			}
			if _, code := tr.withdraw(t, h, "", u.ID, 50, "", key("anon")); code != http.StatusUnauthorized {
				t.Fatalf("withdraw without token: %d, want 401", code)
			}
			if bal, code := tr.deposit(t, h, admin.Token, u.ID, 50, "prize", key("d1")); code != http.StatusOK || bal != 200 {
				t.Fatalf("deposit: %d (%d), want 200", bal, code)
			}
			// A retry with the same key: the same answer, credited once.
			if bal, code := tr.deposit(t, h, admin.Token, u.ID, 50, "prize", key("d1")); code != http.StatusOK || bal != 200 {
				t.Fatalf("repeated deposit: %d (%d), want 200", bal, code)
			}
			// The key of another operation.
			if _, code := tr.deposit(t, h, admin.Token, u.ID, 51, "prize", key("d1")); code != http.StatusConflict {
				t.Fatalf("deposit under a used key: %d, want 409", code)
			}
			// Overdrawn: FAILED_PRECONDITION is 400, and nothing is taken.
			if _, code := tr.withdraw(t, h, admin.Token, u.ID, 201, "too much", key("w0")); code != http.StatusBadRequest {
				t.Fatalf("overdraw: %d, want 400", code)
			}
			if bal, _ := tr.account(t, h, u.Token, u.ID); bal != 200 {
				t.Fatalf("balance after a refused withdrawal = %d, want 200", bal)
			}
			if bal, code := tr.withdraw(t, h, admin.Token, u.ID, 200, "redeemed", key("w1")); code != http.StatusOK || bal != 0 {
				t.Fatalf("withdraw: %d (%d), want 0", bal, code)
			}
			// A retried withdrawal answers what it produced, though the
			// balance could not pay it again.
			if bal, code := tr.withdraw(t, h, admin.Token, u.ID, 200, "redeemed", key("w1")); code != http.StatusOK || bal != 0 {
				t.Fatalf("repeated withdraw: %d (%d), want 0", bal, code)
			}
			for _, bad := range []struct {
				name   string
				amount int64
				key    string
			}{{"zero amount", 0, key("z")}, {"negative amount", -5, key("n")}, {"no key", 5, ""}} {
				if _, code := tr.deposit(t, h, admin.Token, u.ID, bad.amount, "", bad.key); code != http.StatusBadRequest {
					t.Errorf("deposit with %s: %d, want 400", bad.name, code)
				}
			}
			if _, code := tr.deposit(t, h, admin.Token, admin.ID, 5, "", key("none")); code != http.StatusNotFound {
				t.Fatalf("deposit to an account not opened: %d, want 404", code)
			}

			txs, _, code := tr.history(t, h, u.Token, u.ID, 0, "")
			got := make([]string, len(txs))
			for i, x := range txs {
				got[i] = fmt.Sprintf("%s %d %s", strings.TrimPrefix(x.Kind, "TRANSACTION_KIND_"), x.Amount, x.Reason)
			}
			want := []string{"WITHDRAWAL 200 redeemed", "DEPOSIT 50 prize", fmt.Sprintf("WELCOME_BONUS %d welcome bonus", welcomeBonus)}
			if code != http.StatusOK || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("history = %q (%d), want %q", got, code, want)
			}
		})
	}
}

func TestListTransactionsPages(t *testing.T) {
	h := loyalty(t)
	admin := h.newUser(t, true)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			u := h.newUser(t, false)
			h.welcomed(t, u)
			for i := 1; i <= 6; i++ {
				if _, code := tr.deposit(t, h, admin.Token, u.ID, int64(i), fmt.Sprint("deposit ", i), fmt.Sprint("page-", i)); code != http.StatusOK {
					t.Fatalf("deposit %d: %d", i, code)
				}
			}
			var (
				amounts []int64
				sizes   []int
				page    string
			)
			for {
				txs, next, code := tr.history(t, h, u.Token, u.ID, 3, page)
				if code != http.StatusOK {
					t.Fatalf("page %d: %d", len(sizes)+1, code)
				}
				sizes = append(sizes, len(txs))
				for _, x := range txs {
					amounts = append(amounts, x.Amount)
				}
				if next == "" {
					break
				}
				page = next
			}
			if fmt.Sprint(sizes) != "[3 3 1]" || fmt.Sprint(amounts) != fmt.Sprint([]int64{6, 5, 4, 3, 2, 1, welcomeBonus}) {
				t.Fatalf("pages %v, amounts %v; want [3 3 1], newest first", sizes, amounts)
			}

			_, next, _ := tr.history(t, h, u.Token, u.ID, 3, "")
			other := h.newUser(t, false)
			h.welcomed(t, other)
			if _, _, code := tr.history(t, h, admin.Token, other.ID, 3, next); code != http.StatusBadRequest {
				t.Errorf("another account's page token: %d, want 400", code)
			}
			if _, _, code := tr.history(t, h, u.Token, u.ID, -1, ""); code != http.StatusBadRequest {
				t.Errorf("negative page size: %d, want 400", code)
			}
		})
	}
}

func TestMalformedEventIsDeadLetteredAndTheTopicMovesOn(t *testing.T) {
	h := loyalty(t)
	poison := registered(user{ID: "not-a-uuid-" + randomHex(4), Email: "x@example.test"})
	h.publish(t, poison)
	// A valid event behind it is still handled.
	h.welcomed(t, h.newUser(t, false))

	msg := h.readDeadLetter(t, poison.GetEventId())
	headers := map[string]string{}
	for _, hd := range msg.Headers {
		headers[hd.Key] = string(hd.Value)
	}
	if headers["dlq.reason"] != "permanent" || headers["dlq.original.topic"] != h.cfg.Consumer.Topic || headers["dlq.consumer.group"] != h.cfg.Consumer.GroupID {
		t.Fatalf("dead-letter headers = %v", headers)
	}
	if !strings.Contains(headers["dlq.error"], "user_id") {
		t.Fatalf("dlq.error = %q, want it to name user_id", headers["dlq.error"])
	}
	var n int
	if err := h.db.Get(&n, `SELECT count(*) FROM transactions WHERE event_id = $1`, poison.GetEventId()); err != nil || n != 0 {
		t.Fatalf("%d transactions for the poison event, %v", n, err)
	}
}

func TestSwaggerAndHealth(t *testing.T) {
	h := loyalty(t)
	tests := []struct {
		path, contains string
		want           int
	}{
		{"/swagger/", "<html", http.StatusOK},
		{"/swagger/loyalty.swagger.json", "/v1/loyalty/accounts/{user_id}:withdraw", http.StatusOK},
		{"/readyz", `"kafka":"ok"`, http.StatusOK},
		{"/readyz", `"postgres":"ok"`, http.StatusOK},
		{"/healthz", "", http.StatusOK},
		{"/metrics", "go_goroutines", http.StatusOK},
		{"/metrics", `loyalty_points_welcome_bonuses_total{outcome="credited"}`, http.StatusOK},
		{"/v1/loyalty/nothing-here", `"NOT_FOUND"`, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(h.baseURL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want || !strings.Contains(string(body), tt.contains) {
				t.Fatalf("GET %s: %d %.300s; want %d containing %q", tt.path, resp.StatusCode, body, tt.want, tt.contains)
			}
		})
	}
}
