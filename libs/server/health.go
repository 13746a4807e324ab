package server

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Check reports whether one dependency is usable right now; a nil error means
// it is.
type Check func(ctx context.Context) error

// Health answers liveness and readiness. Liveness only says the process
// serves HTTP; readiness runs every registered Check, so a load balancer
// stops sending traffic while, say, the primary database is unreachable.
type Health struct {
	timeout time.Duration

	mu     sync.RWMutex
	checks map[string]Check
	down   bool
}

// NewHealth returns a Health whose checks each get at most timeout.
func NewHealth(timeout time.Duration) *Health {
	return &Health{timeout: timeout, checks: map[string]Check{}}
}

// Add registers a readiness check under name.
func (h *Health) Add(name string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[name] = c
}

// ShuttingDown makes readiness fail from now on, so traffic drains away
// before the servers stop.
func (h *Health) ShuttingDown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down = true
}

// Report is the body of /readyz.
type Report struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// Ready runs every check concurrently and reports each result.
func (h *Health) Ready(ctx context.Context) (Report, bool) {
	h.mu.RLock()
	names := make([]string, 0, len(h.checks))
	for n := range h.checks {
		names = append(names, n)
	}
	checks := h.checks
	down := h.down
	h.mu.RUnlock()
	sort.Strings(names)

	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	results := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() { results[i] = checks[n](ctx) })
	}
	wg.Wait()

	rep := Report{Status: "ok", Checks: make(map[string]string, len(names))}
	ok := !down
	if down {
		rep.Status = "shutting down"
	}
	for i, n := range names {
		if results[i] != nil {
			rep.Checks[n] = results[i].Error()
			ok = false
			if !down {
				rep.Status = "unavailable"
			}
			continue
		}
		rep.Checks[n] = "ok"
	}
	return rep, ok
}

// LiveHandler serves /healthz.
func (h *Health) LiveHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// ReadyHandler serves /readyz: 200 when every check passes, 503 otherwise,
// with each check's result in the body.
func (h *Health) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep, ok := h.Ready(r.Context())
		code := http.StatusOK
		if !ok {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, rep)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
