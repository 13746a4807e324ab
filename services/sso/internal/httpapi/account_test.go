package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/httpapi"
	"github.com/ssokit/platform/services/sso/internal/user"
)

const goodToken = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg"

// actions records the calls the pages make and answers with err.
type actions struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (a *actions) VerifyEmail(_ context.Context, tok string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, "verify "+tok)
	return a.err
}

func (a *actions) ResetPassword(_ context.Context, tok, pw, ip string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, "reset "+tok+" "+pw+" "+ip)
	return a.err
}

func pagesServer(t *testing.T, a *actions) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	httpapi.AccountPages(mux, a, httpapi.PagesConfig{PasswordMinLength: 12, PasswordMaxLength: 128}, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body(t, resp)
}

func postForm(t *testing.T, u string, form url.Values, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body(t, resp)
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPagesNeverActOnGet: a link prefetched by a mail scanner shows a
// form; only the user's post verifies or resets.
func TestPagesNeverActOnGet(t *testing.T) {
	a := &actions{}
	srv := pagesServer(t, a)
	for _, path := range []string{"/account/verify-email", "/account/reset-password"} {
		resp, page := get(t, srv.URL+path+"?token="+goodToken)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		if !strings.Contains(page, `<form method="post" action="`+path+`">`) || !strings.Contains(page, `value="`+goodToken+`"`) {
			t.Fatalf("GET %s shows no form carrying the token:\n%s", path, page)
		}
		for header, want := range map[string]string{
			"Cache-Control":   "no-store",
			"Referrer-Policy": "no-referrer",
			"X-Frame-Options": "DENY",
			"Content-Type":    "text/html; charset=utf-8",
		} {
			if got := resp.Header.Get(header); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, header, got, want)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}
	if len(a.calls) != 0 {
		t.Fatalf("GET called the use cases: %v", a.calls)
	}
}

func TestVerifyPage(t *testing.T) {
	a := &actions{}
	srv := pagesServer(t, a)
	// As Chromium posts the page's form: under the page's no-referrer
	// policy its Origin is "null", and Sec-Fetch-Site says same-origin.
	resp, page := postForm(t, srv.URL+"/account/verify-email", url.Values{"token": {goodToken}},
		map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "is verified") {
		t.Fatalf("POST = %d:\n%s", resp.StatusCode, page)
	}
	if len(a.calls) != 1 || a.calls[0] != "verify "+goodToken {
		t.Fatalf("calls = %v", a.calls)
	}

	a.err = fmt.Errorf("verify: %w", user.ErrTokenInvalid)
	resp, page = postForm(t, srv.URL+"/account/verify-email", url.Values{"token": {goodToken}}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "invalid, has expired or was already used") || strings.Contains(page, "<form") {
		t.Fatalf("POST with a spent token = %d:\n%s", resp.StatusCode, page)
	}
}

func TestResetPage(t *testing.T) {
	a := &actions{}
	srv := pagesServer(t, a)
	const pw = "correct horse battery staple"
	form := url.Values{"token": {goodToken}, "new_password": {pw}, "confirm_password": {pw}}

	resp, page := postForm(t, srv.URL+"/account/reset-password",
		url.Values{"token": {goodToken}, "new_password": {pw}, "confirm_password": {pw + "x"}}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "differ") || !strings.Contains(page, goodToken) {
		t.Fatalf("differing passwords = %d:\n%s", resp.StatusCode, page)
	}
	if len(a.calls) != 0 {
		t.Fatalf("differing passwords reached the use case: %v", a.calls)
	}

	a.err = &auth.InvalidArgumentError{Field: "new_password", Reason: "password is too common"}
	resp, page = postForm(t, srv.URL+"/account/reset-password", form, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "password is too common") || !strings.Contains(page, `value="`+goodToken+`"`) {
		t.Fatalf("policy refusal = %d, want 400 with the reason and the form again:\n%s", resp.StatusCode, page)
	}

	a.err = &auth.ThrottledError{Op: "reset", RetryAfter: 90 * time.Second}
	resp, _ = postForm(t, srv.URL+"/account/reset-password", form, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "90" {
		t.Fatalf("throttled = %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	a.err = errors.New("dial tcp: connection refused")
	resp, page = postForm(t, srv.URL+"/account/reset-password", form, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(page, "connection refused") {
		t.Fatalf("dependency down = %d, want 503 without internals:\n%s", resp.StatusCode, page)
	}

	a.err = nil
	resp, page = postForm(t, srv.URL+"/account/reset-password", form, map[string]string{"X-Forwarded-For": "203.0.113.9"})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "password was changed") {
		t.Fatalf("reset = %d:\n%s", resp.StatusCode, page)
	}
	last := a.calls[len(a.calls)-1]
	if last != "reset "+goodToken+" "+pw+" 127.0.0.1" {
		t.Fatalf("last call %q: want the token, the password and the peer address (X-Forwarded-For untrusted)", last)
	}
}

// TestPagesRefuse: what a browser sends from another site, what is not a
// form, what is too large or not a token never reaches the use cases.
func TestPagesRefuse(t *testing.T) {
	a := &actions{}
	srv := pagesServer(t, a)
	verify := srv.URL + "/account/verify-email"
	form := url.Values{"token": {goodToken}}
	for name, tc := range map[string]struct {
		form   url.Values
		header map[string]string
		want   int
	}{
		"cross-site origin":   {form, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		"cross-site fetch":    {form, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		"opaque origin":       {form, map[string]string{"Origin": "null"}, http.StatusForbidden},
		"json body":           {form, map[string]string{"Content-Type": "application/json"}, http.StatusUnsupportedMediaType},
		"oversized form":      {url.Values{"token": {goodToken}, "pad": {strings.Repeat("x", 9<<10)}}, nil, http.StatusRequestEntityTooLarge},
		"not a token":         {url.Values{"token": {"<script>alert(1)</script>"}}, nil, http.StatusBadRequest},
		"overlong token":      {url.Values{"token": {strings.Repeat("a", 129)}}, nil, http.StatusBadRequest},
		"no token":            {url.Values{}, nil, http.StatusBadRequest},
		"same-origin allowed": {form, map[string]string{"Origin": srv.URL, "Sec-Fetch-Site": "same-origin"}, http.StatusOK},
	} {
		t.Run(name, func(t *testing.T) {
			a.calls = nil
			resp, page := postForm(t, verify, tc.form, tc.header)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d:\n%s", resp.StatusCode, tc.want, page)
			}
			if strings.Contains(page, "<script>") {
				t.Fatal("the page echoes markup unescaped")
			}
			if tc.want != http.StatusOK && len(a.calls) != 0 {
				t.Fatalf("refused post reached the use case: %v", a.calls)
			}
		})
	}
	resp, page := get(t, srv.URL+"/account/reset-password?token=%3Cb%3E")
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(page, "<b>") || strings.Contains(page, "<form") {
		t.Fatalf("GET with a malformed token = %d:\n%s", resp.StatusCode, page)
	}
	req, _ := http.NewRequest(http.MethodPut, verify, nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("PUT = %d, want 405", r.StatusCode)
	}
}
