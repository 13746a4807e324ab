package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/server"
)

func TestServeHTTP(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := server.NewProcess(log, server.NewHealth(time.Second), time.Second)
	if err := p.ServeHTTP(server.HTTPConfig{Addr: "127.0.0.1:0", PprofAddr: "127.0.0.1:0", Metrics: server.NewRegistry()}); err != nil {
		t.Fatal(err)
	}
	if p.Addr("http") == "" || p.Addr("pprof") == "" {
		t.Fatalf("servers: http %q, pprof %q; want both", p.Addr("http"), p.Addr("pprof"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stops the servers at once, releasing their ports
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestServeHTTPReportsItsRoutesError(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := server.NewProcess(log, server.NewHealth(time.Second), time.Second)
	bad := errors.New("no spec")
	err := p.ServeHTTP(server.HTTPConfig{Addr: "127.0.0.1:0", Metrics: server.NewRegistry(),
		Routes: func(*http.ServeMux) error { return bad }})
	if !errors.Is(err, bad) {
		t.Fatalf("err = %v, want the routes' error", err)
	}
	if p.Addr("http") != "" {
		t.Error("an HTTP server was added despite the error")
	}
}
