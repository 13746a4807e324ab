package httpapi_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/redistest"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/httpapi"
	"github.com/ssokit/platform/services/sso/internal/oidc"
	ssoredis "github.com/ssokit/platform/services/sso/internal/redis"
)

// fakeFlows stands in for the provider: pending requests by id, and the
// calls the pages made.
//
// Like the provider, it answers CompleteLogin with the consent page for a
// request that needs consent (NeedsConsent) until GrantConsent, or
// consent remembered in granted, covers it.
type fakeFlows struct {
	mu       sync.Mutex
	requests map[string]oidc.LoginRequest
	granted  map[string]bool
	calls    []string
}

func (f *fakeFlows) LoginRequest(_ context.Context, id string) (oidc.LoginRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.requests[id]
	if !ok {
		return oidc.LoginRequest{}, oidc.ErrRequestNotFound
	}
	return r, nil
}

func (f *fakeFlows) record(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeFlows) CompleteLogin(_ context.Context, id, userID, sid string, _ time.Time, amr []string) (string, error) {
	f.record("complete " + id + " " + userID + " " + sid + " " + strings.Join(amr, ","))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.requests[id].NeedsConsent && !f.granted[id] {
		return oidc.ConsentPath + "?authRequestID=" + id, nil
	}
	return "/authorize/callback?id=" + id, nil
}

func (f *fakeFlows) GrantConsent(_ context.Context, id, userID string) error {
	f.record("consent " + id + " " + userID)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.granted[id] = true
	return nil
}

func (f *fakeFlows) Deny(_ context.Context, id string) (string, error) {
	f.record("deny " + id)
	return "https://app.example/cb?error=access_denied", nil
}

func (f *fakeFlows) Fail(_ context.Context, id, code string) (string, error) {
	f.record("fail " + id + " " + code)
	return "https://app.example/cb?error=" + code, nil
}

func (f *fakeFlows) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// fakeSignIns accepts one password and keeps which sessions live.
type fakeSignIns struct {
	mu    sync.Mutex
	n     int
	live  map[string]bool
	err   error
	calls []auth.Credentials
}

func (s *fakeSignIns) SignIn(_ context.Context, c auth.Credentials) (auth.SignedIn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	if s.err != nil {
		return auth.SignedIn{}, s.err
	}
	if c.Email != "ada@example.com" || c.Password != "correct horse" {
		return auth.SignedIn{}, auth.ErrInvalidCredentials
	}
	s.n++
	sid := "sid-" + string(rune('0'+s.n))
	s.live[sid] = true
	return auth.SignedIn{UserID: "user-1", SessionID: sid, AuthTime: time.Now().Truncate(time.Second)}, nil
}

func (s *fakeSignIns) SessionLive(_ context.Context, sid string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[sid], nil
}

func (s *fakeSignIns) EndBrowserSession(_ context.Context, sid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, sid)
	return nil
}

// The sign-up pages' tests run on the real use cases (signup_test.go).
var errNotHere = errors.New("not in the sign-in tests")

func (s *fakeSignIns) SignUp(context.Context, auth.Registration) (auth.SignedIn, error) {
	return auth.SignedIn{}, errNotHere
}

func (s *fakeSignIns) ForgotPassword(context.Context, string, string) error { return errNotHere }

type loginFixture struct {
	srv     *httptest.Server
	flows   *fakeFlows
	signIns *fakeSignIns
	client  *http.Client
}

func newLoginFixture(t *testing.T, opts ...func(*httpapi.LoginConfig)) *loginFixture {
	t.Helper()
	rdb := redistest.Client(t)
	prefix := testenv.Name(t, "sso") + ":"
	f := newPagesFixture(t, rdb, prefix, nil, opts...)
	return f
}

// newPagesFixture serves the pages over the test's Redis keys (prefix),
// with signIns, or the fake when nil.
func newPagesFixture(t *testing.T, rdb goredis.UniversalClient, prefix string, signIns httpapi.SignIns, opts ...func(*httpapi.LoginConfig)) *loginFixture {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	f := &loginFixture{
		flows: &fakeFlows{requests: map[string]oidc.LoginRequest{
			"req-1":   {ID: "req-1", ClientID: "app", ClientName: `Shop <b>"one"</b>`, Scopes: []string{"openid", "email"}},
			"req-2":   {ID: "req-2", ClientID: "app2", ClientName: "Second app", Scopes: []string{"openid"}},
			"login":   {ID: "login", ClientID: "app2", Prompt: []string{"login"}},
			"maxage":  {ID: "maxage", ClientID: "app2", MaxAge: new(time.Duration)},
			"none":    {ID: "none", ClientID: "app2", Prompt: []string{"none"}},
			"consent": {ID: "consent", ClientID: "third", ClientName: "Third party", Scopes: []string{"openid", "profile", "x-custom"}, NeedsConsent: true},
			"deny":    {ID: "deny", ClientID: "third", NeedsConsent: true, Scopes: []string{"openid"}},
			// Third-party clients whose consent the user gave before.
			"remembered": {ID: "remembered", ClientID: "third", NeedsConsent: true, Scopes: []string{"openid"}},
			"force":      {ID: "force", ClientID: "third", NeedsConsent: true, Scopes: []string{"openid"}, Prompt: []string{"consent"}},
			"silent":     {ID: "silent", ClientID: "fourth", NeedsConsent: true, Scopes: []string{"openid"}, Prompt: []string{"none"}},
		}, granted: map[string]bool{"remembered": true, "force": true}},
		signIns: &fakeSignIns{live: map[string]bool{}},
	}
	if signIns == nil {
		signIns = f.signIns
	}
	mux := http.NewServeMux()
	cfg := httpapi.LoginConfig{
		PasswordMinLength: 8, PasswordMaxLength: 128, InsecureCookies: true, SessionTTL: time.Hour,
	}
	for _, o := range opts {
		o(&cfg)
	}
	// A limit asks for the pages' throttle, in the test's key space.
	if cfg.AddressLimit > 0 {
		cfg.Throttle = ssoredis.NewThrottle(rdb, prefix)
	}
	httpapi.LoginPages(mux, f.flows, signIns, ssoredis.NewLoginCookies(rdb, prefix), cfg, slog.New(slog.DiscardHandler))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.client = f.newBrowser(t)
	return f
}

// newBrowser is a client with its own cookies that does not follow
// redirects, so each answer can be looked at.
func (f *loginFixture) newBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *loginFixture) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, err := f.client.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body(t, resp)
}

func (f *loginFixture) post(t *testing.T, path string, form url.Values, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body(t, resp)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([A-Za-z0-9_-]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page has no CSRF token:\n%s", page)
	}
	return m[1]
}

// signIn shows the form of request id and posts the right password.
func (f *loginFixture) signIn(t *testing.T, id string) *http.Response {
	t.Helper()
	resp, page := f.get(t, "/login?authRequestID="+id)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /login = %d:\n%s", resp.StatusCode, page)
	}
	// As Chromium posts it (see sameOrigin).
	resp, _ = f.post(t, "/login", url.Values{"authRequestID": {id}, "csrf_token": {csrfOf(t, page)},
		"email": {"ada@example.com"}, "password": {"correct horse"}}, map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"})
	return resp
}

func TestLoginSignsInOnceForEveryClient(t *testing.T) {
	f := newLoginFixture(t, func(c *httpapi.LoginConfig) { c.ResetURL = "https://accounts.example/forgot" })
	resp, page := f.get(t, "/login?authRequestID=req-1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /login = %d", resp.StatusCode)
	}
	for _, want := range []string{
		`<html lang="en">`, `<label for="email">`, `<label for="password">`, `autocomplete="current-password"`,
		`Shop &lt;b&gt;&#34;one&#34;&lt;/b&gt;`, `href="https://accounts.example/forgot"`, `href="/signup?authRequestID=req-1"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %s:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "<b>") {
		t.Errorf("login page has markup it should not:\n%s", page)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(csp, "frame-ancestors 'none'") ||
		!strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("headers: Cache-Control %q, CSP %q", resp.Header.Get("Cache-Control"), csp)
	}

	resp, _ = f.post(t, "/login", url.Values{"authRequestID": {"req-1"}, "csrf_token": {csrfOf(t, page)},
		"email": {"ada@example.com"}, "password": {"correct horse"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/authorize/callback?id=req-1" {
		t.Fatalf("POST /login = %d to %q, want 303 to the callback", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "ssokit_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" ||
		session.MaxAge != 3600 || len(session.Value) != 43 || strings.Contains(session.Value, "sid-") {
		t.Fatalf("session cookie = %+v; want an opaque HttpOnly SameSite=Lax cookie for the session's lifetime", session)
	}
	if got := f.flows.takeCalls(); !slices.Equal(got, []string{"complete req-1 user-1 sid-1 pwd"}) {
		t.Fatalf("flows calls = %v", got)
	}
	if c := f.signIns.calls[0]; c.ClientIP != "127.0.0.1" || c.UserAgent == "" {
		t.Errorf("SignIn got address %q, agent %q", c.ClientIP, c.UserAgent)
	}

	// The next application: no form, straight back, same session.
	resp, page = f.get(t, "/login?authRequestID=req-2")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/authorize/callback?id=req-2" {
		t.Fatalf("GET /login signed in = %d to %q:\n%s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	if got := f.flows.takeCalls(); !slices.Equal(got, []string{"complete req-2 user-1 sid-1 pwd"}) {
		t.Fatalf("flows calls = %v", got)
	}

	// prompt=login and max_age=0 ask for the password again.
	for _, id := range []string{"login", "maxage"} {
		if resp, page := f.get(t, "/login?authRequestID="+id); resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="password"`) {
			t.Errorf("GET /login (%s) = %d, want the form", id, resp.StatusCode)
		}
	}
	// prompt=none while signed in is answered silently.
	if resp, _ := f.get(t, "/login?authRequestID=none"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("prompt=none signed in = %d, want 303", resp.StatusCode)
	}
	f.flows.takeCalls()

	// Once the session ends (elsewhere), the cookie signs nobody in.
	if err := f.signIns.EndBrowserSession(context.Background(), "sid-1"); err != nil {
		t.Fatal(err)
	}
	if resp, page := f.get(t, "/login?authRequestID=req-2"); resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="password"`) {
		t.Errorf("GET /login after the session ended = %d, want the form", resp.StatusCode)
	}
	resp, _ = f.get(t, "/login?authRequestID=none")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://app.example/cb?error=login_required" {
		t.Fatalf("prompt=none signed out = %d to %q, want login_required", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := f.flows.takeCalls(); !slices.Equal(got, []string{"fail none login_required"}) {
		t.Fatalf("flows calls = %v", got)
	}
}

func TestLoginWrongPassword(t *testing.T) {
	f := newLoginFixture(t)
	_, page := f.get(t, "/login?authRequestID=req-1")
	resp, page := f.post(t, "/login", url.Values{"authRequestID": {"req-1"}, "csrf_token": {csrfOf(t, page)},
		"email": {`ada@example.com"><script>`}, "password": {"wrong"}}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="form-error"`) ||
		!strings.Contains(page, `aria-describedby="form-error"`) || !strings.Contains(page, "is wrong") {
		t.Fatalf("wrong password = %d:\n%s", resp.StatusCode, page)
	}
	if strings.Contains(page, "<script>") || !strings.Contains(page, `value="ada@example.com&#34;&gt;&lt;script&gt;"`) {
		t.Fatalf("the e-mail is not shown back escaped:\n%s", page)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "ssokit_session" {
			t.Fatalf("a failed sign-in set a session cookie")
		}
	}
	f.signIns.err = &auth.ThrottledError{Op: "login", RetryAfter: 42 * time.Second}
	resp, _ = f.post(t, "/login", url.Values{"authRequestID": {"req-1"}, "csrf_token": {csrfOf(t, page)},
		"email": {"ada@example.com"}, "password": {"correct horse"}}, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "42" {
		t.Fatalf("throttled = %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	f.signIns.err = errors.New("dial tcp: refused")
	resp, page = f.post(t, "/login", url.Values{"authRequestID": {"req-1"}, "csrf_token": {csrfOf(t, page)},
		"email": {"ada@example.com"}, "password": {"correct horse"}}, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(page, "refused") {
		t.Fatalf("dependency down = %d:\n%s", resp.StatusCode, page)
	}
	if len(f.flows.takeCalls()) != 0 {
		t.Fatal("a failed sign-in reached the provider")
	}
}

func TestLoginConsent(t *testing.T) {
	f := newLoginFixture(t)
	resp := f.signIn(t, "consent")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/consent?authRequestID=consent" {
		t.Fatalf("sign-in for a third-party client = %d to %q, want the consent page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := f.flows.takeCalls(); !slices.Equal(got, []string{"complete consent user-1 sid-1 pwd"}) {
		t.Fatalf("flows calls = %v", got)
	}
	resp, page := f.get(t, "/consent?authRequestID=consent")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Third party") || !strings.Contains(page, "Your name") ||
		!strings.Contains(page, "Use “x-custom”") || !strings.Contains(page, `value="approve"`) || !strings.Contains(page, `action="/consent"`) {
		t.Fatalf("GET /consent = %d:\n%s", resp.StatusCode, page)
	}
	resp, _ = f.post(t, "/consent", url.Values{"authRequestID": {"consent"}, "csrf_token": {csrfOf(t, page)}, "decision": {"approve"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/authorize/callback?id=consent" {
		t.Fatalf("approve = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := f.flows.takeCalls(); !slices.Equal(got, []string{"consent consent user-1", "complete consent user-1 sid-1 pwd"}) {
		t.Fatalf("flows calls = %v", got)
	}

	// Remembered consent: straight back; prompt=consent asks again;
	// prompt=none that would have to ask ends with consent_required.
	for id, want := range map[string]string{
		"remembered": "/authorize/callback?id=remembered",
		"force":      "/consent?authRequestID=force",
		"silent":     "https://app.example/cb?error=consent_required",
	} {
		if resp, _ := f.get(t, "/login?authRequestID="+id); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("GET /login (%s) signed in = %d to %q, want %q", id, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	f.flows.takeCalls()

	// Signed in already: the consent page comes at once; deny goes back.
	if resp, _ := f.get(t, "/login?authRequestID=deny"); resp.Header.Get("Location") != "/consent?authRequestID=deny" {
		t.Fatalf("GET /login (consent needed, signed in) = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = f.get(t, "/consent?authRequestID=deny")
	resp, _ = f.post(t, "/consent", url.Values{"authRequestID": {"deny"}, "csrf_token": {csrfOf(t, page)}, "decision": {"deny"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://app.example/cb?error=access_denied" {
		t.Fatalf("deny = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := f.flows.takeCalls(); !slices.Equal(got, []string{"complete deny user-1 sid-1 pwd", "deny deny"}) {
		t.Fatalf("flows calls = %v", got)
	}

	// A browser that is not signed in gets no consent page and gives no
	// consent.
	f.client = f.newBrowser(t)
	resp, _ = f.get(t, "/consent?authRequestID=consent")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET /consent without a session = %d, want 403", resp.StatusCode)
	}
	_, page = f.get(t, "/login?authRequestID=consent")
	resp, _ = f.post(t, "/consent", url.Values{"authRequestID": {"consent"}, "csrf_token": {csrfOf(t, page)}, "decision": {"approve"}}, nil)
	if resp.StatusCode != http.StatusForbidden || len(f.flows.takeCalls()) != 0 {
		t.Fatalf("consent without a session = %d", resp.StatusCode)
	}
}

// TestLoginRefusesForgedPosts: no CSRF token, another browser's token,
// another site's post, an unknown request: nothing reaches a use case.
func TestLoginRefusesForgedPosts(t *testing.T) {
	f := newLoginFixture(t)
	_, page := f.get(t, "/login?authRequestID=req-1")
	tok := csrfOf(t, page)
	good := url.Values{"authRequestID": {"req-1"}, "csrf_token": {tok}, "email": {"ada@example.com"}, "password": {"correct horse"}}
	with := func(k, v string) url.Values {
		c := url.Values{}
		for key, vals := range good {
			c[key] = vals
		}
		c.Set(k, v)
		return c
	}
	for name, tc := range map[string]struct {
		form   url.Values
		header map[string]string
		want   int
	}{
		"no token":          {with("csrf_token", ""), nil, http.StatusForbidden},
		"wrong token":       {with("csrf_token", tok[:40]+"AAA"), nil, http.StatusForbidden},
		"cross-site origin": {good, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		"cross-site fetch":  {good, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		"opaque origin":     {good, map[string]string{"Origin": "null"}, http.StatusForbidden},
		"json":              {good, map[string]string{"Content-Type": "application/json"}, http.StatusUnsupportedMediaType},
		"oversized":         {with("password", strings.Repeat("x", 9<<10)), nil, http.StatusRequestEntityTooLarge},
		"unknown request":   {with("authRequestID", "nope"), nil, http.StatusBadRequest},
		"bad request id":    {with("authRequestID", "<x>"), nil, http.StatusBadRequest},
	} {
		resp, page := f.post(t, "/login", tc.form, tc.header)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: POST /login = %d, want %d:\n%s", name, resp.StatusCode, tc.want, page)
		}
	}
	// Another browser's token does not fit this browser's cookie.
	f.client = f.newBrowser(t)
	_, _ = f.get(t, "/login?authRequestID=req-1")
	if resp, _ := f.post(t, "/login", good, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another browser's token: POST /login = %d, want 403", resp.StatusCode)
	}
	if len(f.signIns.calls) != 0 || len(f.flows.takeCalls()) != 0 {
		t.Fatalf("a forged post reached a use case: %v", f.signIns.calls)
	}
	if resp, page := f.get(t, "/login?authRequestID=unknown"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "unknown or has expired") {
		t.Errorf("GET /login (unknown request) = %d:\n%s", resp.StatusCode, page)
	}
}

func TestLogoutPage(t *testing.T) {
	f := newLoginFixture(t)
	if resp := f.signIn(t, "req-1"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", resp.StatusCode)
	}
	resp, page := f.get(t, "/logout")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `action="/logout"`) {
		t.Fatalf("GET /logout signed in = %d:\n%s", resp.StatusCode, page)
	}
	if live, _ := f.signIns.SessionLive(context.Background(), "sid-1"); !live {
		t.Fatal("GET /logout ended the session")
	}
	resp, page = f.post(t, "/logout", url.Values{"csrf_token": {csrfOf(t, page)}}, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "You are signed out") {
		t.Fatalf("POST /logout = %d:\n%s", resp.StatusCode, page)
	}
	if live, _ := f.signIns.SessionLive(context.Background(), "sid-1"); live {
		t.Fatal("POST /logout left the session live")
	}
	cleared := false
	for _, c := range resp.Cookies() {
		cleared = cleared || c.Name == "ssokit_session" && c.MaxAge < 0
	}
	if !cleared {
		t.Error("POST /logout did not clear the session cookie")
	}
	// The provider's end_session lands here after ending the session.
	if resp, page := f.get(t, "/logout"); resp.StatusCode != http.StatusOK || !strings.Contains(page, "You are signed out") {
		t.Errorf("GET /logout/done = %d:\n%s", resp.StatusCode, page)
	}
	if resp, page := f.get(t, "/login?authRequestID=req-2"); resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="password"`) {
		t.Errorf("GET /login after logout = %d, want the form", resp.StatusCode)
	}
}

// Each client address gets AddressLimit requests a minute to the pages.
func TestLoginPagesThrottleAnAddress(t *testing.T) {
	f := newLoginFixture(t, func(c *httpapi.LoginConfig) {
		c.AddressLimit = 3
	})
	for i := range 3 {
		if resp, _ := f.get(t, "/login?authRequestID=req-1"); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d = %d, want 200", i+1, resp.StatusCode)
		}
	}
	resp, page := f.get(t, "/login?authRequestID=req-1")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(page, "Too many attempts") {
		t.Fatalf("request 4 = %d (Retry-After %q), want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
