package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/ssokit/platform/libs/gateway"
	"github.com/ssokit/platform/libs/server"
	"github.com/ssokit/platform/libs/testenv"
)

// TestServeAPI runs a process with the gRPC server, the REST facade (with
// no services registered), the Swagger UI and a route of the service's own.
func TestServeAPI(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := server.NewProcess(log, server.NewHealth(time.Second), time.Second)
	ctx := testenv.Context(t, 30*time.Second)
	err := gateway.ServeAPI(ctx, p, gateway.API{
		GRPCAddr: "127.0.0.1:0",
		Title:    "test API",
		Spec:     "sso.swagger.json",
		HTTP: server.HTTPConfig{
			Addr:    "127.0.0.1:0",
			Metrics: server.NewRegistry(),
			Routes: func(mux *http.ServeMux) error {
				mux.HandleFunc("GET /own", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
				return nil
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	base := "http://" + p.Addr("http")
	for path, want := range map[string]int{
		"/healthz":     http.StatusOK,
		"/metrics":     http.StatusOK,
		"/swagger/":    http.StatusOK,
		"/own":         http.StatusTeapot,
		"/v1/no/route": http.StatusNotFound,
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}

	conn, err := grpc.NewClient(p.Addr("grpc"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("gRPC health = %v, %v; want SERVING", resp, err)
	}
}
