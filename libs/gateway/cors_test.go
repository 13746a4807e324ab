package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ssokit/platform/libs/gateway"
)

func TestCORS(t *testing.T) {
	const app = "https://app.example.com"
	served := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	type want struct {
		status                int
		allowOrigin, methods  string
		headers, maxAge, vary string
		expose                string
	}
	preflight := func(origin string) *http.Request {
		r := httptest.NewRequest(http.MethodOptions, "/v1/auth/login", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		r.Header.Set("Access-Control-Request-Headers", "content-type,authorization")
		return r
	}
	actual := func(origin string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/v1/auth/login", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		return r
	}
	const preflightVary = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
	allowedPreflight := want{status: http.StatusNoContent, allowOrigin: app, methods: "GET, POST, DELETE",
		headers: "Content-Type, Authorization, X-Request-Id", maxAge: "600", vary: preflightVary}
	tests := []struct {
		name    string
		origins []string
		req     *http.Request
		want    want
	}{
		{"no origins configured: preflight reaches the API", nil, preflight(app), want{status: http.StatusTeapot}},
		{"no origins configured: no headers", nil, actual(app), want{status: http.StatusTeapot}},
		{"allowed preflight", []string{"https://other.example", app}, preflight(app), allowedPreflight},
		{"allowed preflight, origin in other case", []string{"HTTPS://APP.example.com"}, preflight(app), allowedPreflight},
		{"foreign preflight", []string{app}, preflight("https://evil.example"), want{status: http.StatusForbidden, vary: preflightVary}},
		{"null origin preflight", []string{app}, preflight("null"), want{status: http.StatusForbidden, vary: preflightVary}},
		{"look-alike origin", []string{app}, preflight(app + ".evil.example"), want{status: http.StatusForbidden, vary: preflightVary}},
		{"allowed request", []string{app}, actual(app), want{status: http.StatusTeapot, allowOrigin: app, vary: "Origin", expose: "Retry-After, WWW-Authenticate"}},
		{"foreign request is served without headers", []string{app}, actual("https://evil.example"), want{status: http.StatusTeapot, vary: "Origin"}},
		{"request without origin", []string{app}, actual(""), want{status: http.StatusTeapot, vary: "Origin"}},
		{"OPTIONS that is no preflight", []string{app}, httptest.NewRequest(http.MethodOptions, "/v1/auth/login", nil), want{status: http.StatusTeapot, vary: "Origin"}},
		{"any origin", []string{"*"}, preflight("https://anyone.example"), want{status: http.StatusNoContent, allowOrigin: "*",
			methods: "GET, POST, DELETE", headers: "Content-Type, Authorization, X-Request-Id", maxAge: "600", vary: preflightVary}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			gateway.CORS(served, tt.origins).ServeHTTP(rec, tt.req)
			h := rec.Header()
			got := want{
				status: rec.Code, allowOrigin: h.Get("Access-Control-Allow-Origin"),
				methods: h.Get("Access-Control-Allow-Methods"), headers: h.Get("Access-Control-Allow-Headers"),
				maxAge: h.Get("Access-Control-Max-Age"), vary: h.Get("Vary"), expose: h.Get("Access-Control-Expose-Headers"),
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if h.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials allowed")
			}
		})
	}
}
