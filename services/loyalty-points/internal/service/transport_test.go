package service_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/status"

	loyaltyv1 "github.com/ssokit/platform/libs/gen/loyalty/v1"
	"github.com/ssokit/platform/libs/testenv"
)

// httpStatus is the HTTP status the gateway answers for a gRPC error, so
// the same expectations hold for both transports.
func httpStatus(err error) int {
	if err == nil {
		return http.StatusOK
	}
	return runtime.HTTPStatusFromCode(status.Code(err))
}

// tx is one transaction as a client sees it.
type tx struct {
	ID     string
	Kind   string // the enum name, e.g. TRANSACTION_KIND_DEPOSIT
	Amount int64
	Reason string
}

// transport runs the same scenario over REST and over gRPC; every call
// returns the HTTP status (for gRPC, the one the gateway would answer).
type transport struct {
	name     string
	account  func(t *testing.T, h *harness, token, userID string) (balance int64, code int)
	history  func(t *testing.T, h *harness, token, userID string, size int, page string) (txs []tx, next string, code int)
	deposit  func(t *testing.T, h *harness, token, userID string, amount int64, reason, key string) (balance int64, code int)
	withdraw func(t *testing.T, h *harness, token, userID string, amount int64, reason, key string) (balance int64, code int)
}

func restInt(t *testing.T, r restResponse, key string) int64 {
	t.Helper()
	if r.Status != http.StatusOK {
		return 0
	}
	n, err := strconv.ParseInt(r.str(key), 10, 64)
	if err != nil {
		t.Fatalf("%s = %v in %s", key, r.Body[key], r.Raw)
	}
	return n
}

func restChange(op string) func(t *testing.T, h *harness, token, userID string, amount int64, reason, key string) (int64, int) {
	return func(t *testing.T, h *harness, token, userID string, amount int64, reason, key string) (int64, int) {
		r := h.rest(t, http.MethodPost, "/v1/loyalty/accounts/"+url.PathEscape(userID)+":"+op, token,
			map[string]any{"amount": strconv.FormatInt(amount, 10), "reason": reason, "idempotency_key": key})
		return restInt(t, r, "balance"), r.Status
	}
}

var transports = []transport{
	{
		name: "rest",
		account: func(t *testing.T, h *harness, token, userID string) (int64, int) {
			r := h.rest(t, http.MethodGet, "/v1/loyalty/accounts/"+url.PathEscape(userID), token, nil)
			if r.Status == http.StatusOK {
				if !strings.EqualFold(r.str("user_id"), userID) {
					t.Fatalf("user_id = %q, want %q", r.str("user_id"), userID)
				}
				if _, err := time.Parse(time.RFC3339Nano, r.str("updated_at")); err != nil {
					t.Fatalf("updated_at %q: %v", r.str("updated_at"), err)
				}
			}
			return restInt(t, r, "balance"), r.Status
		},
		history: func(t *testing.T, h *harness, token, userID string, size int, page string) ([]tx, string, int) {
			q := url.Values{}
			q.Set("page_size", strconv.Itoa(size))
			if page != "" {
				q.Set("page_token", page)
			}
			r := h.rest(t, http.MethodGet, "/v1/loyalty/accounts/"+url.PathEscape(userID)+"/transactions?"+q.Encode(), token, nil)
			if r.Status != http.StatusOK {
				return nil, "", r.Status
			}
			var txs []tx
			for _, v := range r.Body["transactions"].([]any) {
				m := v.(map[string]any)
				amount, _ := strconv.ParseInt(m["amount"].(string), 10, 64)
				txs = append(txs, tx{ID: m["id"].(string), Kind: m["kind"].(string), Amount: amount, Reason: m["reason"].(string)})
			}
			return txs, r.str("next_page_token"), r.Status
		},
		deposit:  restChange("deposit"),
		withdraw: restChange("withdraw"),
	},
	{
		name: "grpc",
		account: func(t *testing.T, h *harness, token, userID string) (int64, int) {
			resp, err := h.loyalty.GetAccount(withBearer(testenv.Context(t, 10*time.Second), token), &loyaltyv1.GetAccountRequest{UserId: userID})
			if err == nil && (!strings.EqualFold(resp.GetUserId(), userID) || resp.GetUpdatedAt().AsTime().IsZero()) {
				t.Fatalf("GetAccount = %v", resp)
			}
			return resp.GetBalance(), httpStatus(err)
		},
		history: func(t *testing.T, h *harness, token, userID string, size int, page string) ([]tx, string, int) {
			resp, err := h.loyalty.ListTransactions(withBearer(testenv.Context(t, 10*time.Second), token),
				&loyaltyv1.ListTransactionsRequest{UserId: userID, PageSize: int32(size), PageToken: page})
			var txs []tx
			for _, t := range resp.GetTransactions() {
				txs = append(txs, tx{ID: t.GetId(), Kind: t.GetKind().String(), Amount: t.GetAmount(), Reason: t.GetReason()})
			}
			return txs, resp.GetNextPageToken(), httpStatus(err)
		},
		deposit: func(t *testing.T, h *harness, token, userID string, amount int64, reason, key string) (int64, int) {
			resp, err := h.loyalty.Deposit(withBearer(testenv.Context(t, 10*time.Second), token),
				&loyaltyv1.DepositRequest{UserId: userID, Amount: amount, Reason: reason, IdempotencyKey: key})
			return resp.GetBalance(), httpStatus(err)
		},
		withdraw: func(t *testing.T, h *harness, token, userID string, amount int64, reason, key string) (int64, int) {
			resp, err := h.loyalty.Withdraw(withBearer(testenv.Context(t, 10*time.Second), token),
				&loyaltyv1.WithdrawRequest{UserId: userID, Amount: amount, Reason: reason, IdempotencyKey: key})
			return resp.GetBalance(), httpStatus(err)
		},
	},
}
