package service_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	loyaltyv1 "github.com/ssokit/platform/libs/gen/loyalty/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/loyalty-points/internal/service"
)

// TestSSOUnavailable runs a second process whose sso does not answer: the
// API says 503 (UNAVAILABLE over gRPC), never 401 or 500, and the process
// still reports ready, since the consumer does not need sso. Stopping it
// returns cleanly.
func TestSSOUnavailable(t *testing.T) {
	h := loyalty(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()

	cfg := h.cfg
	cfg.SSO.Addr, cfg.SSO.Timeout = dead, 500*time.Millisecond
	cfg.Consumer.Topic, cfg.Consumer.GroupID = testenv.Name(t, "loyalty_nosso"), testenv.Name(t, "loyalty_nosso")
	cfg.AccountEvents.Topic, cfg.AccountEvents.GroupID = testenv.Name(t, "loyalty_nosso_acc"), testenv.Name(t, "loyalty_nosso_acc")
	for _, tp := range []string{cfg.Consumer.Topic, cfg.AccountEvents.Topic} {
		if err := h.createTopic(testenv.Context(t, 30*time.Second), tp); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = h.kafka.DeleteConsumerGroups(ctx, []string{cfg.Consumer.GroupID, cfg.AccountEvents.GroupID})
		_, _ = h.kafka.DeleteTopics(ctx, []string{cfg.Consumer.Topic, cfg.AccountEvents.Topic})
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	proc, err := service.New(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	base := "http://" + proc.Addr("http")
	if !testenv.Eventually(20*time.Second, 50*time.Millisecond, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		t.Fatal("never ready without sso")
	}

	other := &harness{baseURL: base}
	u := "0f8fad5b-d9cb-469f-a165-70867728950e"
	if r := other.rest(t, http.MethodGet, "/v1/loyalty/accounts/"+u, "some-token", nil); r.Status != http.StatusServiceUnavailable || r.str("status") != "UNAVAILABLE" {
		t.Fatalf("REST: %d %s, want 503 UNAVAILABLE", r.Status, r.Raw)
	}
	conn, err := grpc.NewClient(proc.Addr("grpc"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = loyaltyv1.NewLoyaltyServiceClient(conn).GetAccount(withBearer(testenv.Context(t, 10*time.Second), "some-token"),
		&loyaltyv1.GetAccountRequest{UserId: u})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("gRPC: %v, want Unavailable", err)
	}
	// Without a token sso is not asked: 401 whatever its state.
	if r := other.rest(t, http.MethodGet, "/v1/loyalty/accounts/"+u, "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("REST without token: %d %s, want 401", r.Status, r.Raw)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want a clean stop", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the process did not stop")
	}
}
