package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/server"
)

// TestProcessDrainsInFlightRequests checks graceful shutdown: a request in
// flight when the process is told to stop still gets its answer, readiness
// turns false, workers stop, and deferred resources are released last.
func TestProcessDrainsInFlightRequests(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	health := server.NewHealth(time.Second)
	started := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		// Answer only once shutdown has begun (readiness is withdrawn
		// first), so the request is surely in flight while it drains.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if _, ok := health.Ready(context.Background()); !ok {
				break
			}
		}
		_, _ = io.WriteString(w, "done")
	})
	h, err := server.NewHTTP("http", "127.0.0.1:0", mux, server.HTTPLimits{})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	p := server.NewProcess(log, health, 5*time.Second)
	p.Serve(h)
	p.Go("worker", func(ctx context.Context) error {
		<-ctx.Done()
		order = append(order, "worker stopped")
		return ctx.Err()
	})
	p.Defer(func() error { order = append(order, "closed"); return nil })

	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()

	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + h.Addr() + "/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{string(b), err}
	}()
	<-started
	cancel()

	r := <-res
	if r.err != nil || r.body != "done" {
		t.Fatalf("in-flight request: body %q, err %v; want done", r.body, r.err)
	}
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, ok := health.Ready(context.Background()); ok {
		t.Error("readiness still true after shutdown")
	}
	if len(order) != 2 || order[0] != "worker stopped" || order[1] != "closed" {
		t.Errorf("order = %v, want [worker stopped closed]", order)
	}
}

func TestNewHTTPReportsBusyPort(t *testing.T) {
	first, err := server.NewHTTP("http", "127.0.0.1:0", http.NewServeMux(), server.HTTPLimits{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Shutdown(context.Background())
	if _, err := server.NewHTTP("http", first.Addr(), http.NewServeMux(), server.HTTPLimits{}); err == nil {
		t.Fatal("want an error when the port is taken")
	}
}
