package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/ssokit/platform/libs/server"
	"github.com/ssokit/platform/libs/testenv"
)

const healthService = "grpc.health.v1.Health"

// TestGRPCMetricsCountEveryCallByCode drives the server's own health
// service: the OK series exist before the first call, and each call is
// counted under its final code, a recovered panic as Internal, a cancelled
// stream as Canceled.
func TestGRPCMetricsCountEveryCallByCode(t *testing.T) {
	reg := prometheus.NewRegistry()
	panicky := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if r, ok := req.(*healthpb.HealthCheckRequest); ok && r.GetService() == "panic" {
			panic("boom")
		}
		return next(ctx, req)
	}
	srv, err := server.NewGRPC("127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)), reg, nil,
		server.WithUnaryInterceptors(panicky))
	if err != nil {
		t.Fatal(err)
	}

	// Before any call: every registered method has its OK series at 0.
	for _, method := range []string{"Check", "List", "Watch"} {
		v, ok := sample(t, reg, "grpc_server_handled_total",
			map[string]string{"grpc_service": healthService, "grpc_method": method, "grpc_code": "OK"})
		if !ok || v != 0 {
			t.Errorf("%s OK series before any call = %v (exists %v), want 0", method, v, ok)
		}
	}

	go func() { _ = srv.Serve() }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := healthpb.NewHealthClient(conn)
	ctx := testenv.Context(t, 30*time.Second)

	calls := []struct {
		service string
		want    codes.Code
	}{
		{"", codes.OK},
		{"", codes.OK},
		{"no.such.Service", codes.NotFound},
		{"panic", codes.Internal},
	}
	for _, c := range calls {
		_, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: c.service})
		if status.Code(err) != c.want {
			t.Fatalf("Check(%q) = %v, want %v", c.service, err, c.want)
		}
	}
	for code, want := range map[string]float64{"OK": 2, "NotFound": 1, "Internal": 1} {
		v, _ := sample(t, reg, "grpc_server_handled_total",
			map[string]string{"grpc_service": healthService, "grpc_method": "Check", "grpc_code": code})
		if v != want {
			t.Errorf("Check %s = %v, want %v", code, v, want)
		}
	}
	if n, _ := sample(t, reg, "grpc_server_handling_seconds",
		map[string]string{"grpc_service": healthService, "grpc_method": "Check"}); n != 4 {
		t.Errorf("Check durations observed = %v, want 4", n)
	}

	// A server stream, ended by the client.
	sctx, cancel := context.WithCancel(ctx)
	stream, err := client.Watch(sctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled && !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv after cancel = %v", err)
	}
	if !testenv.Eventually(5*time.Second, 10*time.Millisecond, func() bool {
		v, _ := sample(t, reg, "grpc_server_handled_total",
			map[string]string{"grpc_service": healthService, "grpc_method": "Watch", "grpc_code": "Canceled"})
		return v == 1
	}) {
		t.Errorf("cancelled Watch stream not counted as Canceled: codes %v",
			labelValues(t, reg, "grpc_server_handled_total", "grpc_code"))
	}
}

func TestNewGRPCRefusesASecondRegistrationOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	first, err := server.NewGRPC("127.0.0.1:0", log, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Shutdown(context.Background()) })
	var already prometheus.AlreadyRegisteredError
	if _, err := server.NewGRPC("127.0.0.1:0", log, reg, nil); !errors.As(err, &already) {
		t.Fatalf("second NewGRPC on one registry: err = %v, want AlreadyRegisteredError", err)
	}
}

func TestNewGRPCReportsBusyPortAndReleasesItsMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := server.NewGRPC(ln.Addr().String(), log, reg, nil); err == nil {
		t.Fatal("NewGRPC on a busy port gave no error")
	}
	srv, err := server.NewGRPC("127.0.0.1:0", log, reg, nil)
	if err != nil {
		t.Fatalf("NewGRPC after a failed one on the same registry: %v", err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
}
