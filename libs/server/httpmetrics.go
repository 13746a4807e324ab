package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/felixge/httpsnoop"
	"github.com/prometheus/client_golang/prometheus"
)

// RouteUnmatched is the route label of a request no mux pattern matched
// (answered 404 or 405 by the mux itself).
const RouteUnmatched = "unmatched"

// InstrumentHTTP wraps h, a service's whole mux, so that every request is
// counted and timed on reg: http_server_requests_total{route, method, code}
// and http_server_request_duration_seconds{route, method}.
//
// route is never the raw URL path, whose user ids would make a series per
// user. It is the route a handler named with SetRoute (the REST gateway of
// package gateway does: its path template, such as
// "/v1/loyalty/accounts/{user_id}"), otherwise the path of the
// http.ServeMux pattern that matched ("/healthz", "/swagger/", and "/" for
// the gateway's catch-all when no gateway route matched), otherwise
// RouteUnmatched. This works when h is the *http.ServeMux itself, which
// records its pattern on the request. method is the request method, or
// "other" for a non-standard one. Health checks and scrapes are counted
// like any route.
func InstrumentHTTP(reg prometheus.Registerer, h http.Handler) (http.Handler, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_server_requests_total",
		Help: "HTTP requests answered, by route (mux pattern or REST gateway template), method and status code.",
	}, []string{"route", "method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_server_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route and method.",
		Buckets: LatencyBuckets,
	}, []string{"route", "method"})
	for _, c := range []prometheus.Collector{requests, duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("http server metrics: %w", err)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var route string
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, &route))
		m := httpsnoop.CaptureMetrics(h, w, r)
		if route == "" {
			route = patternRoute(r.Pattern)
		}
		method := methodLabel(r.Method)
		requests.WithLabelValues(route, method, strconv.Itoa(m.Code)).Inc()
		duration.WithLabelValues(route, method).Observe(m.Duration.Seconds())
	}), nil
}

type routeKey struct{}

// SetRoute names the route of the request ctx belongs to, for the HTTP
// metrics of InstrumentHTTP, when the mux pattern is too coarse: a handler
// that routes by itself behind a catch-all pattern calls it with its own,
// low-cardinality route template. Outside InstrumentHTTP it does nothing.
func SetRoute(ctx context.Context, route string) {
	if p, ok := ctx.Value(routeKey{}).(*string); ok {
		*p = route
	}
}

// patternRoute is the path of a ServeMux pattern ("[METHOD ][HOST]/PATH"):
// the method is a label of its own.
func patternRoute(pattern string) string {
	if pattern == "" {
		return RouteUnmatched
	}
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		return pattern[i:]
	}
	return pattern
}

// methodLabel bounds the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "other"
}
