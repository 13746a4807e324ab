package server_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssokit/platform/libs/gateway"
	"github.com/ssokit/platform/libs/server"
)

// TestInstrumentHTTPLabelsRequestsByRouteNotPath serves a mux shaped like a
// service's: fixed routes, and a REST gateway behind the catch-all "/".
func TestInstrumentHTTPLabelsRequestsByRouteNotPath(t *testing.T) {
	gw := gateway.New()
	if err := gw.HandlePath(http.MethodGet, "/v1/accounts/{user_id}", func(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
		w.WriteHeader(http.StatusOK)
	}); err != nil {
		t.Fatal(err)
	}
	if err := gw.HandlePath(http.MethodPost, "/v1/accounts/{user_id}:deposit", func(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
		w.WriteHeader(http.StatusCreated)
	}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/teapot/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("GET /named", func(w http.ResponseWriter, r *http.Request) {
		server.SetRoute(r.Context(), "/named/{kind}")
		w.WriteHeader(http.StatusAccepted)
	})
	mux.Handle("/", gw)

	reg := prometheus.NewRegistry()
	h, err := server.InstrumentHTTP(reg, mux)
	if err != nil {
		t.Fatal(err)
	}
	requests := []struct{ method, path string }{
		{http.MethodGet, "/healthz"},
		{http.MethodGet, "/healthz"},
		{http.MethodGet, "/teapot/a/b"},
		{http.MethodGet, "/named"},
		{http.MethodGet, "/v1/accounts/0f8fad5b-d9cb-469f-a165-70867728950e"},
		{http.MethodGet, "/v1/accounts/7c9e6679-7425-40de-944b-e07fc1f90ae7"},
		{http.MethodPost, "/v1/accounts/0f8fad5b-d9cb-469f-a165-70867728950e:deposit"},
		{http.MethodGet, "/v1/no/such/route"},
		{"BREW", "/teapot/pot"},
	}
	for _, r := range requests {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(r.method, r.path, nil))
	}

	tests := []struct {
		route, method, code string
		want                float64
	}{
		{"/healthz", "GET", "200", 2},
		{"/teapot/", "GET", "418", 1},
		{"/named/{kind}", "GET", "202", 1},
		{"/v1/accounts/{user_id}", "GET", "200", 2},
		{"/v1/accounts/{user_id}:deposit", "POST", "201", 1},
		{"/", "GET", "404", 1}, // the gateway found no route
		{"/teapot/", "other", "418", 1},
	}
	for _, tt := range tests {
		labels := map[string]string{"route": tt.route, "method": tt.method, "code": tt.code}
		if v, _ := sample(t, reg, "http_server_requests_total", labels); v != tt.want {
			t.Errorf("requests %v = %v, want %v", labels, v, tt.want)
		}
		delete(labels, "code")
		if n, _ := sample(t, reg, "http_server_request_duration_seconds", labels); n != tt.want {
			t.Errorf("durations %v = %v, want %v", labels, n, tt.want)
		}
	}
	for _, route := range labelValues(t, reg, "http_server_requests_total", "route") {
		if strings.Contains(route, "0f8fad5b") || strings.Contains(route, "no/such") {
			t.Errorf("route label %q holds a raw path", route)
		}
	}
}

func TestInstrumentHTTPUnmatched(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(http.ResponseWriter, *http.Request) {})
	reg := prometheus.NewRegistry()
	h, err := server.InstrumentHTTP(reg, mux)
	if err != nil {
		t.Fatal(err)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/missing/123", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/healthz", nil))
	for _, tt := range []struct{ method, code string }{{"GET", "404"}, {"POST", "405"}} {
		labels := map[string]string{"route": server.RouteUnmatched, "method": tt.method, "code": tt.code}
		if v, _ := sample(t, reg, "http_server_requests_total", labels); v != 1 {
			t.Errorf("requests %v = %v, want 1; routes %v", labels, v, labelValues(t, reg, "http_server_requests_total", "route"))
		}
	}

	var already prometheus.AlreadyRegisteredError
	if _, err := server.InstrumentHTTP(reg, mux); !errors.As(err, &already) {
		t.Errorf("second registration: err = %v, want AlreadyRegisteredError", err)
	}
}
