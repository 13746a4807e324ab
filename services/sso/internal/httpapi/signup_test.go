package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/redistest"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/auth/authtest"
	"github.com/ssokit/platform/services/sso/internal/password"
	ssoredis "github.com/ssokit/platform/services/sso/internal/redis"
	"github.com/ssokit/platform/services/sso/internal/token"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// realSignIns are sso's use cases as the service wires them, over
// in-memory stores held to the adapters' contracts and the real Redis
// throttle, password policy, hasher and token issuer.
type realSignIns struct {
	*auth.Service
	sessions *authtest.Sessions
}

func (r realSignIns) EndBrowserSession(ctx context.Context, sid string) error {
	return r.sessions.Revoke(ctx, sid)
}

type signupFixture struct {
	*loginFixture
	svc   *auth.Service
	users *authtest.Users
}

// chromium is how Chromium marks the pages' own posts (see sameOrigin).
var chromium = map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}

func newSignupFixture(t *testing.T, change func(*auth.Config)) *signupFixture {
	t.Helper()
	rdb := redistest.Client(t)
	prefix := testenv.Name(t, "sso") + ":"
	hasher, err := password.NewHasher(password.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	users, sessions := authtest.NewUsers(), authtest.NewSessions()
	cfg := auth.Config{AccessTTL: 15 * time.Minute, RefreshTTL: time.Hour, FamilyTTL: 24 * time.Hour,
		Limits: auth.Limits{LoginAccountAddress: 5, LoginAccount: 50, LoginAddress: 50, LoginWindow: time.Minute,
			RegisterAddress: 10, RegisterWindow: time.Hour}}
	if change != nil {
		change(&cfg)
	}
	svc, err := auth.NewService(auth.Deps{
		Users: users, Accounts: users, Sessions: sessions,
		Throttle: ssoredis.NewThrottle(rdb, prefix), Hasher: hasher,
		Signer: token.NewIssuer(token.NewKeySet(key), "sso-test", 15*time.Minute),
		Policy: password.Policy{},
	}, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f := newPagesFixture(t, rdb, prefix, realSignIns{Service: svc, sessions: sessions})
	return &signupFixture{loginFixture: f, svc: svc, users: users}
}

func (f *signupFixture) signup(t *testing.T, id string, form url.Values) (*http.Response, string) {
	t.Helper()
	path := "/signup"
	if id != "" {
		path += "?authRequestID=" + id
	}
	resp, page := f.get(t, path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d:\n%s", path, resp.StatusCode, page)
	}
	form.Set("csrf_token", csrfOf(t, page))
	if id != "" {
		form.Set("authRequestID", id)
	}
	return f.post(t, "/signup", form, chromium)
}

func TestSignupCreatesTheAccountAndContinuesTheRequest(t *testing.T) {
	f := newSignupFixture(t, nil)
	// The sign-in form links to both pages, keeping the request.
	_, page := f.get(t, "/login?authRequestID=req-1")
	for _, want := range []string{`href="/signup?authRequestID=req-1"`, `href="/forgot-password?authRequestID=req-1"`} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %s:\n%s", want, page)
		}
	}

	resp, page := f.get(t, "/signup?authRequestID=req-1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /signup = %d:\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{
		`<html lang="en">`, `<label for="email">`, `<label for="password">`, `<label for="name">`,
		`autocomplete="new-password"`, `minlength="8"`, `aria-describedby="password-hint"`, `action="/signup"`,
		`name="authRequestID" value="req-1"`, `Shop &lt;b&gt;&#34;one&#34;&lt;/b&gt;`, `href="/login?authRequestID=req-1"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("signup page lacks %s:\n%s", want, page)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(csp, "default-src 'none'") || strings.Contains(page, "<script") {
		t.Errorf("headers: Cache-Control %q, CSP %q", resp.Header.Get("Cache-Control"), csp)
	}

	resp, page = f.post(t, "/signup", url.Values{"authRequestID": {"req-1"}, "csrf_token": {csrfOf(t, page)},
		"email": {"Grace@Example.com"}, "password": {"correct horse battery"}, "name": {"Grace Hopper"}}, chromium)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/authorize/callback?id=req-1" {
		t.Fatalf("POST /signup = %d to %q, want 303 to the callback:\n%s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	u, err := f.users.ByEmail(context.Background(), "grace@example.com")
	if err != nil || u.FullName != "Grace Hopper" || u.EmailVerified {
		t.Fatalf("account = %+v, %v", u, err)
	}
	if ev := f.users.Events(); len(ev) != 1 || ev[0].Kind != user.EventEmailVerificationRequested || ev[0].UserID != u.ID {
		t.Fatalf("events = %+v, want the verification mail's", ev)
	}
	calls := f.flows.takeCalls()
	if len(calls) != 1 || !strings.HasPrefix(calls[0], "complete req-1 "+u.ID+" ") {
		t.Fatalf("flows calls = %v", calls)
	}
	sid := strings.Fields(calls[0])[3]
	if live, err := f.svc.SessionLive(context.Background(), sid); err != nil || !live {
		t.Fatalf("session %s live = %v, %v", sid, live, err)
	}
	// Signed in: the next application needs no password.
	if resp, _ := f.get(t, "/login?authRequestID=req-2"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/authorize/callback?id=req-2" {
		t.Fatalf("GET /login after sign-up = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := f.flows.takeCalls(); !slices.Equal(got, []string{"complete req-2 " + u.ID + " " + sid + " pwd"}) {
		t.Fatalf("flows calls = %v", got)
	}

	// A third-party client asks for consent next.
	f.client = f.newBrowser(t)
	resp, _ = f.signup(t, "consent", url.Values{"email": {"linus@example.com"}, "password": {"correct horse battery"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/consent?authRequestID=consent" {
		t.Fatalf("sign-up for a third-party client = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	f.flows.takeCalls()

	// Without a request: the account is made and the page says so.
	f.client = f.newBrowser(t)
	resp, page = f.signup(t, "", url.Values{"email": {"ken@example.com"}, "password": {"correct horse battery"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Account created") || !strings.Contains(page, `role="status"`) {
		t.Fatalf("POST /signup without a request = %d:\n%s", resp.StatusCode, page)
	}
	if _, err := f.users.ByEmail(context.Background(), "ken@example.com"); err != nil {
		t.Fatal(err)
	}
	if len(f.flows.takeCalls()) != 0 {
		t.Fatal("a sign-up without a request reached the provider")
	}
}

func TestSignupRefusals(t *testing.T) {
	f := newSignupFixture(t, nil)
	if _, err := f.svc.Register(context.Background(), auth.Registration{Email: "ada@example.com", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		email, pw string
		status    int
		field     string
		msg       string
	}{
		"short password":  {"bob@example.com", "short", http.StatusBadRequest, "password", "Password must be at least 8 characters."},
		"common password": {"bob@example.com", "password123", http.StatusBadRequest, "password", "Password is too common."},
		"e-mail as password": {"bob.builder@example.com", "bob.builder@example.com", http.StatusBadRequest, "password",
			"Password must not be your e-mail address."},
		"bad address": {"bob", "correct horse battery", http.StatusBadRequest, "email", "Email address must contain exactly one @."},
		"taken":       {"ADA@example.com", "another horse battery", http.StatusConflict, "", "An account with this e-mail address exists already."},
	} {
		f.client = f.newBrowser(t)
		resp, page := f.signup(t, "req-1", url.Values{"email": {tc.email}, "password": {tc.pw}})
		if resp.StatusCode != tc.status || !strings.Contains(page, `role="alert" id="form-error">`+tc.msg) {
			t.Errorf("%s: POST /signup = %d, want %d with %q:\n%s", name, resp.StatusCode, tc.status, tc.msg, page)
			continue
		}
		if tc.field != "" && !regexpMatch(`id="`+tc.field+`"[^>]* aria-invalid="true" aria-describedby="[^"]*form-error"`, page) {
			t.Errorf("%s: the %s field is not tied to the error:\n%s", name, tc.field, page)
		}
		if tc.field != "password" && !strings.Contains(page, `value="`+tc.email+`"`) {
			t.Errorf("%s: the address is not shown back", name)
		}
		if strings.Contains(page, tc.pw+`"`) && tc.pw != tc.email {
			t.Errorf("%s: the password is shown back", name)
		}
		for _, c := range resp.Cookies() {
			if c.Name == "ssokit_session" {
				t.Errorf("%s: a refused sign-up set a session cookie", name)
			}
		}
	}
	// The taken address's page offers to sign in or to reset.
	f.client = f.newBrowser(t)
	_, page := f.signup(t, "req-1", url.Values{"email": {"ada@example.com"}, "password": {"another horse battery"}})
	if !strings.Contains(page, `href="/login?authRequestID=req-1">Sign in`) || !strings.Contains(page, `href="/forgot-password?authRequestID=req-1"`) {
		t.Errorf("taken page lacks its links:\n%s", page)
	}
	if f.users.Len() != 1 || len(f.flows.takeCalls()) != 0 {
		t.Fatalf("a refused sign-up made %d accounts or reached the provider", f.users.Len()-1)
	}
}

// TestSignupRefusesForgedPosts: nothing reaches the use case.
func TestSignupRefusesForgedPosts(t *testing.T) {
	f := newSignupFixture(t, nil)
	_, page := f.get(t, "/signup?authRequestID=req-1")
	tok := csrfOf(t, page)
	form := func(k, v string) url.Values {
		c := url.Values{"authRequestID": {"req-1"}, "csrf_token": {tok}, "email": {"mallory@example.com"}, "password": {"correct horse battery"}}
		if k != "" {
			c.Set(k, v)
		}
		return c
	}
	for name, tc := range map[string]struct {
		form   url.Values
		header map[string]string
		want   int
	}{
		"no token":          {form("csrf_token", ""), chromium, http.StatusForbidden},
		"wrong token":       {form("csrf_token", tok[:40]+"AAA"), chromium, http.StatusForbidden},
		"cross-site origin": {form("", ""), map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		"cross-site fetch":  {form("", ""), map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		"opaque origin":     {form("", ""), map[string]string{"Origin": "null"}, http.StatusForbidden},
		"oversized":         {form("name", strings.Repeat("x", 9<<10)), chromium, http.StatusRequestEntityTooLarge},
		"unknown request":   {form("authRequestID", "nope"), chromium, http.StatusBadRequest},
	} {
		if resp, page := f.post(t, "/signup", tc.form, tc.header); resp.StatusCode != tc.want {
			t.Errorf("%s: POST /signup = %d, want %d:\n%s", name, resp.StatusCode, tc.want, page)
		}
		if resp, page := f.post(t, "/forgot-password", tc.form, tc.header); tc.want != http.StatusBadRequest && resp.StatusCode != tc.want {
			t.Errorf("%s: POST /forgot-password = %d, want %d:\n%s", name, resp.StatusCode, tc.want, page)
		}
	}
	if f.users.Len() != 0 {
		t.Fatal("a forged post created an account")
	}
	f.svc.Drain()
	if ev := f.users.Events(); len(ev) != 0 {
		t.Fatalf("a forged post reached a use case: %+v", ev)
	}
}

// Registrations from one address are counted as the API counts them,
// taken addresses included: the page answers 429 once they are spent.
func TestSignupThrottle(t *testing.T) {
	f := newSignupFixture(t, func(c *auth.Config) { c.Limits.RegisterAddress = 2 })
	for i, email := range []string{"one@example.com", "one@example.com"} {
		f.client = f.newBrowser(t)
		if resp, page := f.signup(t, "req-1", url.Values{"email": {email}, "password": {"correct horse battery"}}); resp.StatusCode != []int{http.StatusSeeOther, http.StatusConflict}[i] {
			t.Fatalf("sign-up %d = %d:\n%s", i+1, resp.StatusCode, page)
		}
	}
	f.client = f.newBrowser(t)
	resp, page := f.signup(t, "req-1", url.Values{"email": {"three@example.com"}, "password": {"correct horse battery"}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(page, "Too many attempts") {
		t.Fatalf("sign-up 3 = %d (Retry-After %q):\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), page)
	}
	// The API's registration from the same address is refused too.
	_, err := f.svc.Register(context.Background(), auth.Registration{Email: "four@example.com", Password: "correct horse battery", ClientIP: "127.0.0.1"})
	if _, ok := err.(*auth.ThrottledError); !ok {
		t.Fatalf("Register after the page's quota = %v, want throttled", err)
	}
	if f.users.Len() != 1 {
		t.Fatalf("%d accounts, want 1", f.users.Len())
	}
}

func TestForgotPasswordAnswersAlike(t *testing.T) {
	f := newSignupFixture(t, func(c *auth.Config) { c.Account.ForgotAddress = 2 })
	ctx := context.Background()
	reg, err := f.svc.Register(ctx, auth.Registration{Email: "ada@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	resp, page := f.get(t, "/forgot-password?authRequestID=req-1")
	for _, want := range []string{`<html lang="en">`, `<label for="email">`, `action="/forgot-password"`,
		`name="authRequestID" value="req-1"`, `href="/login?authRequestID=req-1">Back to sign in`, `aria-describedby="forgot-hint"`} {
		if !strings.Contains(page, want) {
			t.Errorf("forgot page lacks %s:\n%s", want, page)
		}
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /forgot-password = %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	tok := csrfOf(t, page)
	ask := func(email string) (*http.Response, string) {
		return f.post(t, "/forgot-password", url.Values{"authRequestID": {"req-1"}, "csrf_token": {tok}, "email": {email}}, chromium)
	}
	known, knownPage := ask("ADA@example.com")
	unknown, unknownPage := ask("nobody@example.com")
	if known.StatusCode != http.StatusOK || unknown.StatusCode != http.StatusOK || knownPage != unknownPage || !strings.Contains(knownPage, "If an account uses this e-mail address") {
		t.Fatalf("known = %d, unknown = %d; pages differ or say too much:\n%s\n---\n%s", known.StatusCode, unknown.StatusCode, knownPage, unknownPage)
	}
	f.svc.Drain()
	var resets []user.AccountEvent
	for _, e := range f.users.Events() {
		if e.Kind == user.EventPasswordResetRequested {
			resets = append(resets, e)
		}
	}
	if len(resets) != 1 || resets[0].UserID != reg.UserID {
		t.Fatalf("reset requests = %+v, want one for the known address", resets)
	}
	if resp, page := ask("not an address"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `aria-invalid="true"`) {
		t.Fatalf("bad address = %d:\n%s", resp.StatusCode, page)
	}
	// ForgotAddress (2) is spent: both kinds of address get the same 429.
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		resp, page := ask(email)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(page, "Too many attempts") {
			t.Fatalf("%s after the quota = %d:\n%s", email, resp.StatusCode, page)
		}
	}
	// Without a request id the page stands alone.
	if _, page := f.get(t, "/forgot-password"); strings.Contains(page, "authRequestID") {
		t.Errorf("standalone forgot page names a request:\n%s", page)
	}
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }
