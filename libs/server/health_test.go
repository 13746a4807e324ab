package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/server"
)

func TestReadyz(t *testing.T) {
	failing := func(context.Context) error { return errors.New("connection refused") }
	passing := func(context.Context) error { return nil }
	slow := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

	tests := []struct {
		name       string
		checks     map[string]server.Check
		down       bool
		wantCode   int
		wantStatus string
		wantChecks map[string]string
	}{
		{"no checks", nil, false, http.StatusOK, "ok", map[string]string{}},
		{"all pass", map[string]server.Check{"db": passing, "redis": passing}, false,
			http.StatusOK, "ok", map[string]string{"db": "ok", "redis": "ok"}},
		{"one fails", map[string]server.Check{"db": passing, "redis": failing}, false,
			http.StatusServiceUnavailable, "unavailable", map[string]string{"db": "ok", "redis": "connection refused"}},
		{"slow check times out", map[string]server.Check{"kafka": slow}, false,
			http.StatusServiceUnavailable, "unavailable", map[string]string{"kafka": context.DeadlineExceeded.Error()}},
		{"shutting down", map[string]server.Check{"db": passing}, true,
			http.StatusServiceUnavailable, "shutting down", map[string]string{"db": "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := server.NewHealth(50 * time.Millisecond)
			for n, c := range tt.checks {
				h.Add(n, c)
			}
			if tt.down {
				h.ShuttingDown()
			}
			rec := httptest.NewRecorder()
			h.ReadyHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("code = %d, want %d", rec.Code, tt.wantCode)
			}
			var rep server.Report
			if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Status != tt.wantStatus {
				t.Errorf("status = %q, want %q", rep.Status, tt.wantStatus)
			}
			if len(rep.Checks) != len(tt.wantChecks) {
				t.Fatalf("checks = %v, want %v", rep.Checks, tt.wantChecks)
			}
			for n, want := range tt.wantChecks {
				if rep.Checks[n] != want {
					t.Errorf("check %s = %q, want %q", n, rep.Checks[n], want)
				}
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	h := server.NewHealth(time.Second)
	h.Add("db", func(context.Context) error { return errors.New("down") })
	rec := httptest.NewRecorder()
	h.LiveHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("liveness must not depend on dependencies: code = %d", rec.Code)
	}
}
