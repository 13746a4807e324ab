package oidc_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"golang.org/x/oauth2"

	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/redistest"
	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/httpapi"
	"github.com/ssokit/platform/services/sso/internal/oidc"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/postgres"
	ssoredis "github.com/ssokit/platform/services/sso/internal/redis"
	"github.com/ssokit/platform/services/sso/internal/token"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// The tests run the provider over the stack's PostgreSQL (a database of
// their own) and Redis (keys under a prefix of their own), as sso does.
var testDB = &testenv.SharedDB{Prefix: "sso_oidc_test", Setup: func(ctx context.Context, db *sqlx.DB) error {
	return postgres.Migrate(ctx, db, 0)
}}

func TestMain(m *testing.M) {
	code := m.Run()
	testDB.Close()
	os.Exit(code)
}

type env struct {
	srv      *httptest.Server
	issuer   string
	p        *oidc.Provider
	clients  *oidc.Clients
	sessions *ssoredis.Sessions
	users    *postgres.Users
	audit    *auditRecorder
}

// auditRecorder keeps the audit entries the provider records.
type auditRecorder struct {
	mu      sync.Mutex
	entries []audit.Entry
}

func (r *auditRecorder) Record(_ context.Context, e audit.Entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = append(r.entries, e)
	return nil
}

func (r *auditRecorder) actions(userID string) []audit.Action {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []audit.Action
	for _, e := range r.entries {
		if e.TargetID == userID {
			out = append(out, e.Action)
		}
	}
	return out
}

func newEnv(t testing.TB, tweak func(*oidc.Config)) *env {
	t.Helper()
	db := testDB.DB(t)
	rdb := redistest.Client(t)
	prefix := testenv.Name(t, "oidc") + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	key, err := oidc.LoadKey(t.TempDir()+"/rsa.pem", true)
	if err != nil {
		t.Fatal(err)
	}
	eddsa, err := token.EnsureDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// Users that write events seal their personal data with a data key.
	keyLine, err := sealbox.NewKeyLine("oidc-test")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := sealbox.Parse([]byte(keyLine))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	srv.Start()
	t.Cleanup(srv.Close)
	e := &env{srv: srv, issuer: srv.URL, clients: oidc.NewClients(db), sessions: ssoredis.NewSessions(rdb, prefix),
		users: postgres.NewUsers(db, db, outbox.UserRegistered("oidc-test"), postgres.WithDataKeys(ring)), audit: &auditRecorder{}}
	cfg := oidc.Config{Issuer: srv.URL, KeyPrefix: prefix}
	if tweak != nil {
		tweak(&cfg)
	}
	e.p, err = oidc.New(cfg, oidc.Deps{Clients: e.clients, Sessions: e.sessions, Users: e.users, Redis: rdb,
		Throttle: ssoredis.NewThrottle(rdb, prefix), Key: key, Audit: e.audit}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("GET "+oidc.JWKSPath, httpapi.JWKS(eddsa, key.JWK()))
	e.p.Routes(mux, nil)
	return e
}

// signIn creates a user and opens a provider session for it, as the
// hosted login does through the auth use case.
func (e *env) signIn(t testing.TB) (userID, sid string) {
	t.Helper()
	ctx := context.Background()
	u := user.User{ID: uuid.NewString(), Email: testenv.Name(t, "u") + "-" + uuid.NewString()[:8] + "@example.com",
		PasswordHash: "unused", CreatedAt: time.Now().UTC().Truncate(time.Microsecond), EmailVerified: true, EventStatus: user.EventInProgress}
	if err := e.users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	sid = uuid.NewString()
	_, hash, _ := token.NewRefresh()
	if err := e.sessions.Start(ctx, auth.Session{Family: sid, UserID: u.ID}, hash, auth.Lifetime{Idle: time.Hour, Absolute: time.Hour}, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	return u.ID, sid
}

func (e *env) register(t testing.TB, confidential, firstParty bool) (oidc.Client, string) {
	t.Helper()
	c, secret, err := oidc.NewClient("Test app", confidential, firstParty,
		[]string{"http://127.0.0.1:9/cb"}, []string{"http://127.0.0.1:9/bye"}, []string{"openid", "email", "offline_access"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.clients.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c, secret
}

func (e *env) oauth(c oidc.Client, secret string) *oauth2.Config {
	return &oauth2.Config{ClientID: c.ID, ClientSecret: secret, RedirectURL: c.RedirectURIs[0],
		Scopes:   []string{"openid", "email", "offline_access"},
		Endpoint: oauth2.Endpoint{AuthURL: e.issuer + oidc.AuthorizePath, TokenURL: e.issuer + oidc.TokenPath}}
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}

// get returns the status and Location of a GET, not following it.
func get(t testing.TB, u string) (int, *url.URL) {
	t.Helper()
	resp, err := noFollow.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc, _ := resp.Location()
	return resp.StatusCode, loc
}

// authorize sends the browser to the authorize endpoint and returns the
// request id the hosted login page is given.
func (e *env) authorize(t testing.TB, authURL string) string {
	t.Helper()
	status, loc := get(t, authURL)
	if status != http.StatusFound || loc == nil || loc.Path != "/login" {
		t.Fatalf("authorize: %d %v, want a redirect to /login", status, loc)
	}
	return loc.Query().Get("authRequestID")
}

// login completes the request for the user and follows the callback to
// the client's redirect URI; it returns that redirect's query.
func (e *env) login(t testing.TB, id, userID, sid string) url.Values {
	t.Helper()
	next, err := e.p.CompleteLogin(context.Background(), id, userID, sid, time.Now(), []string{"pwd"})
	if err != nil {
		t.Fatal(err)
	}
	return e.callback(t, next)
}

func (e *env) callback(t testing.TB, next string) url.Values {
	t.Helper()
	status, loc := get(t, next)
	if status != http.StatusFound || loc == nil || loc.Host != "127.0.0.1:9" {
		t.Fatalf("callback: %d %v, want a redirect to the client", status, loc)
	}
	return loc.Query()
}

// codeFlow runs authorize, login and callback for a client and returns
// the code, its PKCE verifier and the nonce.
func (e *env) codeFlow(t testing.TB, cfg *oauth2.Config, userID, sid string) (code, verifier, nonce string) {
	t.Helper()
	verifier, nonce = oauth2.GenerateVerifier(), uuid.NewString()
	id := e.authorize(t, cfg.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)))
	q := e.login(t, id, userID, sid)
	if q.Get("state") != "st4te" || q.Get("code") == "" {
		t.Fatalf("callback query %v: want the state and a code", q)
	}
	return q.Get("code"), verifier, nonce
}

// userinfoStatus calls userinfo with the bearer token tok (none when
// empty) and returns the status and the WWW-Authenticate challenge.
func userinfoStatus(t testing.TB, issuer, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, issuer+oidc.UserinfoPath, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

func postForm(t testing.TB, u, clientID, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestCodeFlowAsARelyingPartySeesIt(t *testing.T) {
	e := newEnv(t, nil)
	ctx := gooidc.InsecureIssuerURLContext(context.Background(), e.issuer)
	client, secret := e.register(t, true, true)
	cfg := e.oauth(client, secret)
	userID, sid := e.signIn(t)

	provider, err := gooidc.NewProvider(ctx, e.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if provider.Endpoint().TokenURL != cfg.Endpoint.TokenURL {
		t.Fatalf("discovered token endpoint %q, want %q", provider.Endpoint().TokenURL, cfg.Endpoint.TokenURL)
	}
	code, verifier, nonce := e.codeFlow(t, cfg, userID, sid)
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idTok, err := provider.Verifier(&gooidc.Config{ClientID: client.ID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var claims struct {
		SID           string   `json:"sid"`
		AMR           []string `json:"amr"`
		AuthTime      int64    `json:"auth_time"`
		Email         string   `json:"email"`
		EmailVerified bool     `json:"email_verified"`
	}
	if err := idTok.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idTok.Subject != userID || idTok.Nonce != nonce || claims.SID != sid || len(claims.AMR) != 1 || claims.AuthTime == 0 ||
		!strings.HasSuffix(claims.Email, "@example.com") {
		t.Fatalf("ID token sub %q nonce %q claims %+v; want sub %s, the nonce, sid %s, amr, auth_time, e-mail", idTok.Subject, idTok.Nonce, claims, userID, sid)
	}
	if err := idTok.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != userID || info.Email != claims.Email || info.EmailVerified != claims.EmailVerified {
		t.Fatalf("userinfo %+v, %v", info, err)
	}

	// Introspection answers the client the token was issued to.
	status, body := postForm(t, e.issuer+oidc.IntrospectPath, client.ID, secret, url.Values{"token": {tok.AccessToken}})
	if status != http.StatusOK || body["active"] != true || body["sub"] != userID || body["sid"] != sid {
		t.Fatalf("introspect: %d %v", status, body)
	}

	// Refresh rotates; the old token again is a reuse that ends the family.
	old := tok.RefreshToken
	fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: old, Expiry: time.Now().Add(-time.Minute)}).Token()
	if err != nil || fresh.RefreshToken == "" || fresh.RefreshToken == old {
		t.Fatalf("refresh: %+v, %v; want a new refresh token", fresh, err)
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: old, Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil {
		t.Fatal("a rotated refresh token refreshed again")
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil {
		t.Fatal("after a reuse, the family's current token still refreshed")
	}
	if got := e.audit.actions(userID); !slices.Contains(got, audit.ActionRefreshTokenReuse) {
		t.Fatalf("audit entries of the user = %v, want a refresh-token reuse", got)
	}

	// Revocation (RFC 7009) kills the access token at once.
	status, _ = postForm(t, e.issuer+oidc.RevokePath, client.ID, secret, url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}})
	if status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("userinfo answered a revoked access token")
	}
	if status, challenge := userinfoStatus(t, e.issuer, tok.AccessToken); status != http.StatusUnauthorized || !strings.Contains(challenge, `error="invalid_token"`) {
		t.Errorf("userinfo with a revoked access token: %d, WWW-Authenticate %q; want 401 invalid_token (RFC 6750)", status, challenge)
	}
	if status, challenge := userinfoStatus(t, e.issuer, ""); status != http.StatusUnauthorized || challenge != "Bearer" {
		t.Errorf("userinfo without a token: %d, WWW-Authenticate %q; want 401 Bearer", status, challenge)
	}
	if status, body = postForm(t, e.issuer+oidc.IntrospectPath, client.ID, secret, url.Values{"token": {tok.AccessToken}}); body["active"] != false {
		t.Fatalf("introspect revoked: %d %v", status, body)
	}
}

func TestEndSessionEndsEveryApplicationsTokens(t *testing.T) {
	e := newEnv(t, nil)
	ctx := gooidc.InsecureIssuerURLContext(context.Background(), e.issuer)
	userID, sid := e.signIn(t)
	var toks []*oauth2.Token
	var cfgs []*oauth2.Config
	for range 2 { // two applications, one provider session
		client, secret := e.register(t, true, true)
		cfg := e.oauth(client, secret)
		code, verifier, _ := e.codeFlow(t, cfg, userID, sid)
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		toks, cfgs = append(toks, tok), append(cfgs, cfg)
	}
	provider, err := gooidc.NewProvider(ctx, e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	hint, _ := toks[0].Extra("id_token").(string)
	status, loc := get(t, e.issuer+oidc.EndSessionPath+"?"+url.Values{"id_token_hint": {hint},
		"post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}, "state": {"s"}}.Encode())
	if status != http.StatusFound || loc.String() != "http://127.0.0.1:9/bye?state=s" {
		t.Fatalf("end_session: %d %v", status, loc)
	}
	for i, tok := range toks {
		if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Errorf("application %d: userinfo answered after logout", i)
		}
		if status, challenge := userinfoStatus(t, e.issuer, tok.AccessToken); status != http.StatusUnauthorized || !strings.Contains(challenge, `error="invalid_token"`) {
			t.Errorf("application %d: userinfo after logout: %d, WWW-Authenticate %q; want 401 invalid_token", i, status, challenge)
		}
		if _, err := cfgs[i].TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil {
			t.Errorf("application %d: refreshed after logout", i)
		}
	}
	if revoked, _ := e.sessions.AccessRevoked(context.Background(), "-", sid); !revoked {
		t.Error("the provider session outlived the logout")
	}
}

func TestCodeExchangeRefusals(t *testing.T) {
	e := newEnv(t, func(c *oidc.Config) { c.CodeTTL = time.Second })
	ctx := context.Background()
	userID, sid := e.signIn(t)
	client, secret := e.register(t, true, true)
	cfg := e.oauth(client, secret)
	public, _ := e.register(t, false, true)
	pub := e.oauth(public, "")

	expectInvalid := func(t testing.TB, cfg *oauth2.Config, code string, opts ...oauth2.AuthCodeOption) {
		t.Helper()
		_, err := cfg.Exchange(ctx, code, opts...)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" && re.ErrorCode != "invalid_client" && re.ErrorCode != "invalid_request" {
			t.Fatalf("exchange: %v, want an OAuth error", err)
		}
	}

	t.Run("wrong PKCE verifier", func(t *testing.T) {
		code, _, _ := e.codeFlow(t, pub, userID, sid)
		expectInvalid(t, pub, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	})
	t.Run("missing PKCE verifier", func(t *testing.T) {
		code, _, _ := e.codeFlow(t, pub, userID, sid)
		expectInvalid(t, pub, code)
	})
	t.Run("wrong secret", func(t *testing.T) {
		code, verifier, _ := e.codeFlow(t, cfg, userID, sid)
		wrong := *cfg
		wrong.ClientSecret = "not-the-secret"
		expectInvalid(t, &wrong, code, oauth2.VerifierOption(verifier))
	})
	t.Run("expired code", func(t *testing.T) {
		code, verifier, _ := e.codeFlow(t, cfg, userID, sid)
		time.Sleep(1500 * time.Millisecond)
		expectInvalid(t, cfg, code, oauth2.VerifierOption(verifier))
	})
	t.Run("replayed code revokes its tokens", func(t *testing.T) {
		code, verifier, _ := e.codeFlow(t, cfg, userID, sid)
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		expectInvalid(t, cfg, code, oauth2.VerifierOption(verifier))
		if status, body := postForm(t, e.issuer+oidc.IntrospectPath, client.ID, secret, url.Values{"token": {tok.AccessToken}}); body["active"] != false {
			t.Fatalf("the first exchange's access token still active after the replay: %d %v", status, body)
		}
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil {
			t.Fatal("the first exchange's refresh token still refreshes after the replay")
		}
	})
	t.Run("public client without PKCE", func(t *testing.T) {
		status, loc := get(t, pub.AuthCodeURL("s"))
		if status == http.StatusFound && loc.Path == "/login" {
			t.Fatal("authorize sent a public client without PKCE to the login page")
		}
	})
	t.Run("wrong redirect URI", func(t *testing.T) {
		bad := *cfg
		bad.RedirectURL = "http://127.0.0.1:9/cb/other"
		status, loc := get(t, bad.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if status == http.StatusFound {
			t.Fatalf("authorize with an unregistered redirect URI redirected to %v", loc)
		}
	})
	t.Run("unknown client", func(t *testing.T) {
		bad := *cfg
		bad.ClientID = "no-such-client"
		status, loc := get(t, bad.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if status == http.StatusFound {
			t.Fatalf("authorize for an unknown client redirected to %v", loc)
		}
	})
}

func TestHostedPagesFlows(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	userID, sid := e.signIn(t)
	third, secret := e.register(t, true, false)
	cfg := e.oauth(third, secret)
	authURL := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))

	if _, err := e.p.LoginRequest(ctx, "unknown"); !errors.Is(err, oidc.ErrRequestNotFound) {
		t.Fatalf("unknown request: %v", err)
	}
	id := e.authorize(t, authURL)
	lr, err := e.p.LoginRequest(ctx, id)
	if err != nil || lr.ClientID != third.ID || lr.ClientName != "Test app" || !lr.NeedsConsent || len(lr.Scopes) != 3 {
		t.Fatalf("login request %+v, %v", lr, err)
	}
	// A third-party client: the login leads to the consent page, and the
	// callback refuses the request until the user consents.
	next, err := e.p.CompleteLogin(ctx, id, userID, sid, time.Now(), []string{"pwd"})
	if err != nil || !strings.HasPrefix(next, oidc.ConsentPath+"?authRequestID=") {
		t.Fatalf("complete login: %q, %v; want the consent page", next, err)
	}
	if status, loc := get(t, e.issuer+oidc.CallbackPath+"?id="+id); status == http.StatusFound && loc.Query().Get("code") != "" {
		t.Fatal("the callback issued a code before consent")
	}
	if err := e.p.GrantConsent(ctx, id, userID); err != nil {
		t.Fatal(err)
	}
	if next, err = e.p.CompleteLogin(ctx, id, userID, sid, time.Now(), []string{"pwd"}); err != nil {
		t.Fatal(err)
	}
	if q := e.callback(t, next); q.Get("code") == "" {
		t.Fatalf("callback after consent: %v", q)
	}
	// The consent is remembered: the next request goes straight through.
	id = e.authorize(t, authURL)
	if q := e.login(t, id, userID, sid); q.Get("code") == "" {
		t.Fatalf("second login: %v", q)
	}

	// Deny sends the browser back with access_denied and the state.
	id = e.authorize(t, authURL)
	back, err := e.p.Deny(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(back)
	if u.Query().Get("error") != "access_denied" || u.Query().Get("state") != "s" || !strings.HasPrefix(back, "http://127.0.0.1:9/cb?") {
		t.Fatalf("deny: %s", back)
	}
	if _, err := e.p.LoginRequest(ctx, id); !errors.Is(err, oidc.ErrRequestNotFound) {
		t.Fatalf("denied request: %v", err)
	}
	// Another user's session cannot complete a login.
	id = e.authorize(t, authURL)
	_, otherSID := e.signIn(t)
	if _, err := e.p.CompleteLogin(ctx, id, userID, otherSID, time.Now(), nil); err == nil {
		t.Fatal("a login completed with another user's session")
	}
	// A session that ended cannot complete a login.
	if err := e.sessions.Revoke(ctx, sid); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.CompleteLogin(ctx, id, userID, sid, time.Now(), nil); err == nil {
		t.Fatal("an ended session completed a login")
	}
}

// TestConsentIsForgottenWithTheAccount deletes an account that consented
// to a client: no row of the consent remains.
func TestConsentIsForgottenWithTheAccount(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	userID, _ := e.signIn(t)
	c, _ := e.register(t, true, false)
	if err := e.clients.Consent(ctx, userID, c.ID, []string{"openid", "email"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.clients.Consented(ctx, userID, c.ID, []string{"email"}); err != nil || !ok {
		t.Fatalf("consent not remembered: %v %v", ok, err)
	}
	if ok, _ := e.clients.Consented(ctx, userID, c.ID, []string{"email", "offline_access"}); ok {
		t.Fatal("consent covers a scope never granted")
	}
	if _, err := testDB.DB(t).ExecContext(ctx, "DELETE FROM users WHERE id = $1", userID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := testDB.DB(t).QueryRowContext(ctx, "SELECT count(*) FROM oidc_consents WHERE user_id = $1", userID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d consent rows left after the account's deletion (%v)", n, err)
	}
}

// TestSigningInAgainReplacesTheGrant: a second sign-in of one browser
// session to one application ends the first grant's refresh token, so
// repeated sign-ins do not pile up sessions.
func TestSigningInAgainReplacesTheGrant(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	userID, sid := e.signIn(t)
	client, secret := e.register(t, true, true)
	cfg := e.oauth(client, secret)
	var toks []*oauth2.Token
	for range 2 {
		code, verifier, _ := e.codeFlow(t, cfg, userID, sid)
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	refresh := func(tok *oauth2.Token) error {
		_, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
		return err
	}
	if refresh(toks[0]) == nil {
		t.Error("the replaced grant's refresh token still refreshes")
	}
	if err := refresh(toks[1]); err != nil {
		t.Errorf("the new grant does not refresh: %v", err)
	}
	sessions, err := e.sessions.List(ctx, userID)
	if err != nil || len(sessions) != 2 { // the provider session and one grant
		t.Fatalf("%d live sessions (%v), want 2", len(sessions), err)
	}
}

// TestEndpointsAreThrottledPerAddress: past the limit, a client address
// gets 429 with Retry-After, before anything is stored.
func TestEndpointsAreThrottledPerAddress(t *testing.T) {
	e := newEnv(t, func(c *oidc.Config) { c.AddressLimit = 3 })
	client, secret := e.register(t, true, true)
	authURL := e.oauth(client, secret).AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	for range 3 {
		e.authorize(t, authURL)
	}
	resp, err := noFollow.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("4th call: %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// BenchmarkCodeFlowRoundTrip times one sign-in as a relying party sees it,
// on the stack's PostgreSQL and Redis: authorize, the hosted login's
// CompleteLogin, the callback, the code exchange, the ID token's
// verification and a userinfo call.
func BenchmarkCodeFlowRoundTrip(b *testing.B) {
	e := newEnv(b, func(c *oidc.Config) { c.AddressLimit = 1 << 30 })
	ctx := gooidc.InsecureIssuerURLContext(context.Background(), e.issuer)
	client, secret := e.register(b, true, true)
	cfg := e.oauth(client, secret)
	userID, sid := e.signIn(b)
	provider, err := gooidc.NewProvider(ctx, e.issuer)
	if err != nil {
		b.Fatal(err)
	}
	verifier := provider.Verifier(&gooidc.Config{ClientID: client.ID})
	for b.Loop() {
		code, pkce, _ := e.codeFlow(b, cfg, userID, sid)
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		if _, err := verifier.Verify(ctx, raw); err != nil {
			b.Fatal(err)
		}
		if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil {
			b.Fatal(err)
		}
	}
}
