package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ssokit/platform/libs/testenv"
)

// relyingParty is an application that signs its users in through sso as
// mainstream ones do: go-oidc discovers the provider and verifies ID
// tokens, x/oauth2 runs the authorization code flow with PKCE. It serves
// /start, which sends the browser to sso, and /cb, where sso sends it back.
type relyingParty struct {
	name     string
	srv      *httptest.Server
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	conf     oauth2.Config

	mu sync.Mutex
	// state, nonce and PKCE verifier of the flow under way.
	state, nonce, pkce string
	// last is the outcome of the last callback.
	last rpResult
	// hold makes the callback keep the flow (held) instead of completing
	// it, for the tests that replay parts of one flow in another.
	hold bool
	held heldFlow
}

// heldFlow is a flow stopped at the callback: the code and state the
// provider sent, and what the party had sent with the request.
type heldFlow struct{ code, state, nonce, pkce string }

// rpResult is what the relying party learned from one callback.
type rpResult struct {
	err      string // the provider's error or the party's own refusal
	idToken  *oidc.IDToken
	rawID    string
	token    *oauth2.Token
	userinfo map[string]any
}

func newRelyingParty(t *testing.T, ctx context.Context, name, issuer string) *relyingParty {
	t.Helper()
	rp := &relyingParty{name: name}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", rp.start)
	mux.HandleFunc("GET /cb", rp.callback)
	rp.srv = httptest.NewServer(mux)
	t.Cleanup(rp.srv.Close)
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discover %s: %v", issuer, err)
	}
	rp.provider = p
	return rp
}

func (rp *relyingParty) redirectURI() string { return rp.srv.URL + "/cb" }

// register makes rp a client of sso through the admin API.
func (rp *relyingParty) register(t *testing.T, s *system, adminToken string, confidential, firstParty bool, scopes []string) {
	t.Helper()
	r := call(t, http.MethodPost, s.url("/v1/admin/clients"), adminToken, map[string]any{
		"name": rp.name, "confidential": confidential, "first_party": firstParty,
		"redirect_uris": []string{rp.redirectURI()}, "post_logout_redirect_uris": []string{rp.srv.URL + "/"},
		"scopes": scopes,
	}, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("register client %s: %d %s", rp.name, r.Status, r.Raw)
	}
	client, _ := r.Body["client"].(map[string]any)
	id, _ := client["client_id"].(string)
	secret := r.str("client_secret")
	if id == "" || confidential != (secret != "") {
		t.Fatalf("register client %s: %s", rp.name, r.Raw)
	}
	rp.conf = oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: rp.provider.Endpoint(),
		RedirectURL: rp.redirectURI(), Scopes: scopes}
	rp.verifier = rp.provider.Verifier(&oidc.Config{ClientID: id, SupportedSigningAlgs: []string{oidc.RS256}})
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// start sends the browser to the provider; ?prompt= is passed on.
func (rp *relyingParty) start(w http.ResponseWriter, r *http.Request) {
	rp.mu.Lock()
	rp.state, rp.nonce, rp.pkce = randomString(), randomString(), oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oidc.Nonce(rp.nonce), oauth2.S256ChallengeOption(rp.pkce)}
	if p := r.URL.Query().Get("prompt"); p != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", p))
	}
	to := rp.conf.AuthCodeURL(rp.state, opts...)
	rp.mu.Unlock()
	http.Redirect(w, r, to, http.StatusFound)
}

// callback checks the state, exchanges the code with the PKCE verifier,
// verifies the ID token and its nonce and calls userinfo, as a relying
// party must; the page it shows says the outcome.
func (rp *relyingParty) callback(w http.ResponseWriter, r *http.Request) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.hold {
		q := r.URL.Query()
		rp.held = heldFlow{code: q.Get("code"), state: q.Get("state"), nonce: rp.nonce, pkce: rp.pkce}
		fmt.Fprint(w, `<p id="result">held</p>`)
		return
	}
	res := rp.complete(r)
	rp.last = res
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if res.err != "" {
		fmt.Fprintf(w, `<p id="result">error: %s</p>`, url.QueryEscape(res.err))
		return
	}
	fmt.Fprintf(w, `<p id="result">signed in to %s as %s</p>`, rp.name, url.QueryEscape(res.idToken.Subject))
}

func (rp *relyingParty) complete(r *http.Request) rpResult {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return rpResult{err: e}
	}
	if q.Get("state") != rp.state {
		return rpResult{err: "state mismatch"}
	}
	ctx := r.Context()
	tok, err := rp.conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(rp.pkce))
	if err != nil {
		return rpResult{err: "exchange: " + err.Error()}
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		return rpResult{err: "id token: " + err.Error()}
	}
	if id.Nonce != rp.nonce {
		return rpResult{err: "nonce mismatch"}
	}
	ui, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return rpResult{err: "userinfo: " + err.Error()}
	}
	var claims map[string]any
	if err := ui.Claims(&claims); err != nil {
		return rpResult{err: "userinfo claims: " + err.Error()}
	}
	return rpResult{idToken: id, rawID: raw, token: tok, userinfo: claims}
}

func (rp *relyingParty) result() rpResult {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.last
}

// browser starts headless Chromium (SSO_E2E_CHROMIUM, default Debian's
// /usr/bin/chromium, installed by deploy/tools/chromium.sh).
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := os.Getenv("SSO_E2E_CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("no Chromium at %s (run deploy/tools/chromium.sh, or set SSO_E2E_CHROMIUM): %v", exe, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // tests may run as root, where Chromium's sandbox will not start
		chromedp.WindowSize(720, 640),
		chromedp.Flag("lang", "en-US"),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// screenshot captures the page. The committed images under
// services/sso/docs/screenshots are rewritten only when
// SSO_E2E_SCREENSHOTS=write, so a normal run leaves the tree clean.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot %s is not a PNG", name)
	}
	if os.Getenv("SSO_E2E_SCREENSHOTS") != "write" {
		return
	}
	path := filepath.Join(repoRoot(), "services", "sso", "docs", "screenshots", name+".png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// visit navigates and waits for the page's element sel.
func visit(t *testing.T, ctx context.Context, u, sel string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("visit %s, waiting for %s: %v\nat %s:\n%s", u, sel, err, loc, body)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// TestSignInWithSSO: two applications, one browser. The first sends the
// user through the hosted sign-in and consent pages, the second gets the
// user signed in without a password, and signing out at sso ends both.
func TestSignInWithSSO(t *testing.T) {
	s := theSystem(t)
	ctx := testenv.Context(t, 3*time.Minute)
	issuer := s.url("")
	_, admin := s.admin(t)
	email := s.email(t)
	userID, _ := s.register(t, email, nil)

	shop := newRelyingParty(t, ctx, "Shop (third party)", issuer)
	shop.register(t, s, admin.access, false, false, []string{"openid", "email"})
	blog := newRelyingParty(t, ctx, "Blog", issuer)
	blog.register(t, s, admin.access, true, true, []string{"openid", "email", "offline_access"})

	b := browser(t)

	// The hosted error page: a sign-in request sso never issued.
	visit(t, b, s.url("/login?authRequestID=no-such-request"), "main")
	if got := text(t, b, "main"); !strings.Contains(got, "unknown or has expired") {
		t.Fatalf("error page says %q", got)
	}
	screenshot(t, b, "error")

	// Shop: sign-in form, then consent, then back signed in.
	loc := visit(t, b, shop.srv.URL+"/start", "#password")
	if !strings.HasPrefix(loc, issuer+"/login?") {
		t.Fatalf("Shop's sign-in went to %s, want sso's hosted login", loc)
	}
	if got := text(t, b, "main"); !strings.Contains(got, "Shop (third party)") {
		t.Fatalf("login page does not name the application: %q", got)
	}
	screenshot(t, b, "login")
	// A wrong password first: the form again, the address kept, the error
	// tied to the fields.
	if err := chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), "not the password"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#form-error")),
	); err != nil {
		t.Fatalf("wrong password: %v", err)
	}
	if got := text(t, b, "#form-error"); !strings.Contains(got, "password is wrong") {
		t.Fatalf("wrong password: the page says %q", got)
	}
	if kept, err := chromedp.Run(b, chromedp.Value(chromedp.CSS("#email"))); err != nil || kept != email {
		t.Fatalf("wrong password: the form kept the address %q (%v), want %q", kept, err, email)
	}
	if err := chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS(`button[value="approve"]`)),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	screenshot(t, b, "consent")
	if err := chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`button[value="approve"]`)),
		chromedp.WaitVisible(chromedp.CSS("#result")),
	); err != nil {
		t.Fatalf("consent: %v", err)
	}
	res := shop.result()
	if res.err != "" || res.idToken.Subject != userID {
		t.Fatalf("Shop's sign-in: %+v; want user %s", res, userID)
	}
	if res.userinfo["sub"] != userID || res.userinfo["email"] != email {
		t.Errorf("Shop's userinfo = %v; want sub %s and email %s", res.userinfo, userID, email)
	}

	// Blog: signed in at once.
	// Blog's page appears only if no form stopped the browser on the way.
	loc = visit(t, b, blog.srv.URL+"/start", "#result")
	blogRes := blog.result()
	if !strings.HasPrefix(loc, blog.srv.URL+"/cb") || blogRes.err != "" || blogRes.idToken.Subject != userID {
		t.Fatalf("Blog's sign-in at %s: %+v; want user %s without a password", loc, blogRes, userID)
	}
	if blogRes.token.RefreshToken == "" {
		t.Fatal("Blog asked for offline_access and got no refresh token")
	}
	var sid struct {
		SID string `json:"sid"`
	}
	if err := res.idToken.Claims(&sid); err != nil || sid.SID == "" {
		t.Fatalf("Shop's ID token has no sid (%v)", err)
	}
	var blogSID struct {
		SID string `json:"sid"`
	}
	if err := blogRes.idToken.Claims(&blogSID); err != nil || blogSID.SID != sid.SID {
		t.Fatalf("Blog's sid %q, Shop's %q: want one provider session", blogSID.SID, sid.SID)
	}
	// The refresh token works while the session lives.
	fresh, err := blog.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: blogRes.token.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("Blog's refresh: %v", err)
	}
	if !blog.introspect(t, fresh.AccessToken) {
		t.Fatal("introspection says Blog's fresh access token is not active")
	}

	// Shop again: the consent is remembered, so no page stops the browser.
	visit(t, b, shop.srv.URL+"/start", "#result")
	if got := shop.result(); got.err != "" || got.idToken.Subject != userID {
		t.Fatalf("Shop's second sign-in: %+v", got)
	}

	mismatchedStateAndNonce(t, b, blog)

	// Sign out at sso, as Shop would: end_session with its ID token.
	end, err := endSessionURL(ctx, shop.provider)
	if err != nil {
		t.Fatal(err)
	}
	visit(t, b, end+"?id_token_hint="+url.QueryEscape(res.rawID), ".ok")
	if got := text(t, b, "main"); !strings.Contains(got, "signed out") {
		t.Fatalf("logout page says %q", got)
	}
	screenshot(t, b, "logout")

	// Both applications are signed out.
	if _, err := blog.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); err == nil {
		t.Error("Blog's refresh token still works after logout")
	}
	if blog.introspect(t, fresh.AccessToken) {
		t.Error("introspection says Blog's access token is active after logout")
	}
	visit(t, b, shop.srv.URL+"/start?prompt=none", "#result")
	if got := shop.result(); got.err != "login_required" {
		t.Errorf("silent sign-in after logout: %+v; want login_required", got)
	}
	loc = visit(t, b, blog.srv.URL+"/start", "#password")
	if !strings.HasPrefix(loc, issuer+"/login?") {
		t.Errorf("Blog's sign-in after logout went to %s, want the password form", loc)
	}
}

// introspect asks sso whether tok is active, authenticating as rp.
func (rp *relyingParty) introspect(t *testing.T, tok string) bool {
	t.Helper()
	var doc struct {
		Introspection string `json:"introspection_endpoint"`
	}
	if err := rp.provider.Claims(&doc); err != nil || doc.Introspection == "" {
		t.Fatalf("discovery names no introspection endpoint (%v)", err)
	}
	req, err := http.NewRequest(http.MethodPost, doc.Introspection, strings.NewReader(url.Values{"token": {tok}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(rp.conf.ClientID), url.QueryEscape(rp.conf.ClientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Active bool `json:"active"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspection: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Active
}

func endSessionURL(_ context.Context, p *oidc.Provider) (string, error) {
	var doc struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&doc); err != nil {
		return "", err
	}
	if doc.EndSession == "" {
		return "", errors.New("discovery names no end_session_endpoint")
	}
	return doc.EndSession, nil
}

// mismatchedStateAndNonce: a callback whose state is not the one of the
// flow under way (a code injected into the user's browser) is refused
// before any exchange, and the ID token of one flow fails another flow's
// nonce check, since the provider binds each request's nonce into the ID
// token of its code.
func mismatchedStateAndNonce(t *testing.T, b context.Context, rp *relyingParty) {
	t.Helper()
	hold := func() heldFlow {
		rp.mu.Lock()
		rp.hold = true
		rp.mu.Unlock()
		visit(t, b, rp.srv.URL+"/start", "#result")
		rp.mu.Lock()
		defer rp.mu.Unlock()
		rp.hold = false
		if rp.held.code == "" || rp.held.state != rp.state {
			t.Fatalf("held flow %+v: want a code and the request's state %q", rp.held, rp.state)
		}
		return rp.held
	}
	first, second := hold(), hold()
	visit(t, b, rp.srv.URL+"/cb?"+url.Values{"code": {second.code}, "state": {first.state}}.Encode(), "#result")
	if got := rp.result(); got.err != "state mismatch" {
		t.Errorf("callback with another flow's state: %+v; want it refused", got)
	}
	ctx := testenv.Context(t, 30*time.Second)
	tok, err := rp.conf.Exchange(ctx, first.code, oauth2.VerifierOption(first.pkce))
	if err != nil {
		t.Fatalf("exchange the first flow's code: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if id.Nonce != first.nonce || id.Nonce == second.nonce {
		t.Errorf("ID token of the first flow has nonce %q; want the first flow's %q, which the second's (%q) check refuses", id.Nonce, first.nonce, second.nonce)
	}
}
