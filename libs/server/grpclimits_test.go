package server_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/ssokit/platform/libs/server"
)

// TestGRPCLimits: a request message over WithMaxRecvMsgSize fails with
// RESOURCE_EXHAUSTED, and beyond WithMaxConns a new connection is not
// served until a held one closes.
func TestGRPCLimits(t *testing.T) {
	srv, err := server.NewGRPC("127.0.0.1:0", slog.New(slog.DiscardHandler), prometheus.NewRegistry(), nil,
		server.WithMaxRecvMsgSize(1024), server.WithMaxConns(1))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve() }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	dial := func() (*grpc.ClientConn, healthpb.HealthClient) {
		t.Helper()
		conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn, healthpb.NewHealthClient(conn)
	}
	check := func(c healthpb.HealthClient, service string, wait time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_, err := c.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		return err
	}

	first, c1 := dial()
	if err := check(c1, "", 5*time.Second); err != nil {
		t.Fatalf("first connection: %v", err)
	}
	if err := check(c1, strings.Repeat("s", 2048), 5*time.Second); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("2 KiB request over a 1 KiB limit: %v, want RESOURCE_EXHAUSTED", err)
	}

	_, c2 := dial()
	if err := check(c2, "", 500*time.Millisecond); err == nil {
		t.Fatal("a second connection was served beyond the cap of 1")
	}
	first.Close()
	if err := check(c2, "", 5*time.Second); err != nil {
		t.Fatalf("second connection after the first closed: %v", err)
	}
}

func TestNewGRPCRefusesNonPositiveLimits(t *testing.T) {
	for _, opt := range []server.GRPCOption{server.WithMaxRecvMsgSize(0), server.WithMaxConns(-1)} {
		if _, err := server.NewGRPC("127.0.0.1:0", slog.New(slog.DiscardHandler), prometheus.NewRegistry(), nil, opt); err == nil {
			t.Error("NewGRPC took a non-positive limit")
		}
	}
}
