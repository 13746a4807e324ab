package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/ssokit/platform/libs/gateway"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// Paths of the provider's endpoints, below the issuer. They live under
// /oauth/ so that they cannot collide with the API (/v1/), the account
// and hosted login pages, or the JWKS, which sso already serves and the
// discovery document points at.
const (
	AuthorizePath  = "/oauth/authorize"
	CallbackPath   = AuthorizePath + "/callback"
	TokenPath      = "/oauth/token"
	UserinfoPath   = "/oauth/userinfo"
	RevokePath     = "/oauth/revoke"
	IntrospectPath = "/oauth/introspect"
	EndSessionPath = "/oauth/end_session"
	JWKSPath       = "/.well-known/jwks.json"
	DiscoveryPath  = "/.well-known/openid-configuration"
)

// Users is what the provider reads of accounts.
type Users interface {
	ByID(ctx context.Context, id string) (user.User, error)
}

// Config configures the provider.
type Config struct {
	// Issuer is sso's public base URL (SSO_PUBLIC_URL), without a trailing
	// slash. Plain http is accepted only for a loopback host.
	Issuer string
	// KeyPrefix is sso's Redis key prefix.
	KeyPrefix string
	// AccessTTL is the lifetime of access tokens, IDTokenTTL of ID tokens.
	AccessTTL, IDTokenTTL time.Duration
	// Lifetime bounds refresh-token families, as sso's own.
	Lifetime auth.Lifetime
	// RequestTTL is how long a user has to sign in; CodeTTL how long a
	// code waits for its exchange (RFC 6749 recommends at most 10
	// minutes); SpentTTL how long a used code is remembered, to catch a
	// replay.
	RequestTTL, CodeTTL, SpentTTL time.Duration
	// LoginPath and LogoutPath are the hosted pages.
	LoginPath, LogoutPath string
	// SecretAttempts bounds client-secret checks per client a minute.
	SecretAttempts int
	// AddressLimit bounds the calls of one client address to the
	// provider's endpoints a minute.
	AddressLimit int
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.AccessTTL, 15*time.Minute)
	def(&c.IDTokenTTL, time.Hour)
	def(&c.RequestTTL, 10*time.Minute)
	def(&c.CodeTTL, time.Minute)
	def(&c.SpentTTL, 10*time.Minute)
	def(&c.Lifetime.Idle, 720*time.Hour)
	def(&c.Lifetime.Absolute, 720*time.Hour)
	if c.LoginPath == "" {
		c.LoginPath = "/login"
	}
	if c.LogoutPath == "" {
		c.LogoutPath = "/logout"
	}
	if c.AddressLimit <= 0 {
		c.AddressLimit = 300
	}
	if c.SecretAttempts <= 0 {
		c.SecretAttempts = 30
	}
	return c
}

// Deps are the provider's adapters.
type Deps struct {
	Clients  *Clients
	Sessions auth.Sessions
	Users    Users
	Redis    goredis.UniversalClient
	// Throttle counts client-secret attempts; nil counts nothing.
	Throttle auth.Throttle
	Key      *SigningKey
	// Audit records a refresh-token reuse in the audit log, as sso's own
	// refresh does; nil records nothing.
	Audit auth.AuditRecorder
}

// Provider is sso's OpenID Connect provider. It implements Flows for the
// hosted pages.
type Provider struct {
	cfg      Config
	clients  *Clients
	sessions auth.Sessions
	users    Users
	throttle auth.Throttle
	audit    auth.AuditRecorder
	reqs     *requests
	key      *SigningKey
	log      *slog.Logger
	handler  http.Handler
}

var _ Flows = (*Provider)(nil)

// New builds the provider.
func New(cfg Config, d Deps, log *slog.Logger) (*Provider, error) {
	cfg = cfg.withDefaults()
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || iss.Host == "" || iss.Path != "" && iss.Path != "/" {
		return nil, fmt.Errorf("oidc: issuer %q must be a base URL (scheme and host)", cfg.Issuer)
	}
	if d.Clients == nil || d.Sessions == nil || d.Users == nil || d.Redis == nil || d.Key == nil {
		return nil, errors.New("oidc: missing dependency")
	}
	p := &Provider{cfg: cfg, clients: d.Clients, sessions: d.Sessions, users: d.Users, throttle: d.Throttle,
		audit: d.Audit, reqs: &requests{rdb: d.Redis, prefix: cfg.KeyPrefix}, key: d.Key, log: log}
	opts := []op.Option{
		op.WithCustomAuthEndpoint(op.NewEndpoint(AuthorizePath[1:])),
		op.WithCustomTokenEndpoint(op.NewEndpoint(TokenPath[1:])),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint(UserinfoPath[1:])),
		op.WithCustomRevocationEndpoint(op.NewEndpoint(RevokePath[1:])),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(IntrospectPath[1:])),
		op.WithCustomEndSessionEndpoint(op.NewEndpoint(EndSessionPath[1:])),
		op.WithCustomKeysEndpoint(op.NewEndpoint(JWKSPath[1:])),
		op.WithLogger(log),
	}
	switch {
	case iss.Scheme == "https":
	case iss.Scheme == "http" && isLoopback(iss.Hostname()):
		opts = append(opts, op.WithAllowInsecure())
	default:
		return nil, fmt.Errorf("oidc: issuer %q must be https (http only on a loopback host)", cfg.Issuer)
	}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                d.Key.cryptoKey(),
		DefaultLogoutRedirectURI: cfg.LogoutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English},
		SupportedScopes:          SupportedScopes,
		SupportedClaims:          []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "at_hash", "sid", "email", "email_verified"},
	}, storage{p}, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	p.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == UserinfoPath {
			w = &bearerErrorWriter{ResponseWriter: w, presented: r.Header.Get("Authorization") != ""}
		}
		provider.ServeHTTP(w, r)
	})
	return p, nil
}

// bearerErrorWriter answers userinfo's refusals as RFC 6750 (section 3,
// which OpenID Connect Core 5.3.3 points to) says. The library answers a
// token its storage refuses (revoked, its session ended, its user gone)
// 403, which means insufficient_scope, and sends no WWW-Authenticate with
// its 401s; relying parties take 401 with error="invalid_token" as the
// sign to sign the user in again, and a 403 as a permanent refusal.
type bearerErrorWriter struct {
	http.ResponseWriter
	presented bool // the request carried a token, so invalid_token applies
	swallow   bool // the library's own body is replaced
}

func (w *bearerErrorWriter) WriteHeader(status int) {
	if w.swallow {
		return
	}
	switch status {
	case http.StatusForbidden:
		w.swallow = true
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="the access token is not active"`)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Del("Content-Length")
		w.ResponseWriter.WriteHeader(http.StatusUnauthorized)
		_, _ = w.ResponseWriter.Write([]byte(`{"error":"invalid_token","error_description":"the access token is not active"}`))
		return
	case http.StatusUnauthorized:
		if w.presented {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		} else {
			w.Header().Set("WWW-Authenticate", "Bearer")
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *bearerErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *bearerErrorWriter) Write(b []byte) (int, error) {
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Routes mounts the provider's endpoints on mux. The JWKS is not among
// them: sso serves it already, with this key beside the EdDSA ones. Every
// endpoint's body is bounded, and its calls are counted per client address
// (trusted: the proxies whose X-Forwarded-For is believed), since each
// authorize stores a request for minutes.
func (p *Provider) Routes(mux *http.ServeMux, trusted []netip.Prefix) {
	h := http.MaxBytesHandler(p.handler, maxBody)
	mux.Handle("GET "+DiscoveryPath, h)
	mux.Handle("/oauth/", p.throttled(h, trusted))
}

// maxBody bounds request bodies: a token or revocation request is a few
// hundred bytes.
const maxBody = 16 << 10

func (p *Provider) throttled(next http.Handler, trusted []netip.Prefix) http.Handler {
	if p.throttle == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, ok := gateway.ClientAddr(r, trusted)
		if ok {
			res, err := p.throttle.Reserve(r.Context(), auth.Quota{Key: "oidc:address:" + addr.String(),
				Limit: p.cfg.AddressLimit, Window: time.Minute})
			if err != nil {
				p.log.WarnContext(r.Context(), "oidc throttle", slog.Any("error", err))
				http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
				return
			}
			if res.Refused >= 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(res.RetryAfter.Seconds())+1))
				http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Handler is every endpoint of the provider, for tests.
func (p *Provider) Handler() http.Handler { return p.handler }

// EndSession ends the provider session sid and every refresh-token family
// issued from it to an application; their access tokens die with sid.
func (p *Provider) EndSession(ctx context.Context, sid string) error {
	families, err := p.reqs.rdb.HVals(ctx, p.reqs.childrenKey(sid)).Result()
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	for _, f := range append(families, sid) {
		if err := p.sessions.Revoke(ctx, f); err != nil {
			return fmt.Errorf("end session: %w", err)
		}
	}
	return p.reqs.rdb.Del(ctx, p.reqs.childrenKey(sid)).Err()
}

func (p *Provider) request(ctx context.Context, id string) (*authRequest, Client, error) {
	if id == "" || len(id) > 64 {
		return nil, Client{}, ErrRequestNotFound
	}
	var req authRequest
	err := p.reqs.get(ctx, p.reqs.reqKey(id), &req)
	if errors.Is(err, errNotFound) || err == nil && req.Exchanged {
		return nil, Client{}, ErrRequestNotFound
	}
	if err != nil {
		return nil, Client{}, err
	}
	c, err := p.clients.Get(ctx, req.ClientID)
	if errors.Is(err, ErrClientNotFound) {
		return nil, Client{}, ErrRequestNotFound
	}
	return &req, c, err
}

// needsConsent: a third-party client, and either nobody signed in yet or
// the signed-in user's remembered consent does not cover the scopes.
func (p *Provider) needsConsent(ctx context.Context, req *authRequest, c Client) (bool, error) {
	if c.FirstParty {
		return false, nil
	}
	if req.UserID == "" {
		return true, nil
	}
	ok, err := p.clients.Consented(ctx, req.UserID, c.ID, req.Scopes)
	return !ok, err
}

// LoginRequest implements Flows.
func (p *Provider) LoginRequest(ctx context.Context, id string) (LoginRequest, error) {
	req, c, err := p.request(ctx, id)
	if err != nil {
		return LoginRequest{}, err
	}
	consent, err := p.needsConsent(ctx, req, c)
	if err != nil {
		return LoginRequest{}, err
	}
	lr := LoginRequest{ID: req.ID, ClientID: c.ID, ClientName: c.Name, Scopes: req.Scopes,
		Prompt: req.Prompt, LoginHint: req.LoginHint, NeedsConsent: consent}
	if req.MaxAge != nil {
		d := time.Duration(*req.MaxAge) * time.Second
		lr.MaxAge = &d
	}
	return lr, nil
}

// ErrConsentRequired is returned by GrantConsent for a user other than
// the one CompleteLogin bound.
var ErrConsentRequired = errors.New("oidc: consent required")

// CompleteLogin implements Flows. When the client is third-party and the
// user has not consented to the scopes yet, the request is bound to the
// user but not finished, and the URL returned is the consent page
// (ConsentPath?authRequestID=...): after GrantConsent, calling
// CompleteLogin again returns the callback.
func (p *Provider) CompleteLogin(ctx context.Context, id, userID, sid string, authTime time.Time, amr []string) (string, error) {
	req, c, err := p.request(ctx, id)
	if err != nil {
		return "", err
	}
	if req.UserID != "" && req.UserID != userID {
		return "", ErrRequestNotFound
	}
	// The session must be a live one of this very user: a request cannot
	// be bound to somebody else's session.
	live, err := p.sessions.List(ctx, userID)
	if err != nil {
		return "", err
	}
	if !slices.ContainsFunc(live, func(s auth.SessionInfo) bool { return s.Family == sid }) {
		return "", auth.ErrInvalidToken
	}
	req.UserID, req.SID, req.AuthTime, req.AMR = userID, sid, authTime.UTC().Truncate(time.Second), slices.Clone(amr)
	consent, err := p.needsConsent(ctx, req, c)
	if err != nil {
		return "", err
	}
	req.IsDone = !consent
	if err := p.reqs.update(ctx, req); err != nil {
		if errors.Is(err, errNotFound) {
			return "", ErrRequestNotFound
		}
		return "", err
	}
	if consent {
		return ConsentPath + "?authRequestID=" + url.QueryEscape(id), nil
	}
	return p.cfg.Issuer + CallbackPath + "?id=" + url.QueryEscape(id), nil
}

// ConsentPath is the hosted consent page CompleteLogin sends a user to who
// has yet to consent.
const ConsentPath = "/consent"

// GrantConsent implements Flows: the user's consent to the request's
// scopes is remembered, and the request finished. userID must be the user
// CompleteLogin bound, when it bound one.
func (p *Provider) GrantConsent(ctx context.Context, id, userID string) error {
	req, c, err := p.request(ctx, id)
	if err != nil {
		return err
	}
	if req.UserID != "" && req.UserID != userID {
		return ErrRequestNotFound
	}
	if err := p.clients.Consent(ctx, userID, c.ID, req.Scopes); err != nil {
		return err
	}
	if req.UserID == "" {
		return nil
	}
	req.IsDone = true
	if err := p.reqs.update(ctx, req); errors.Is(err, errNotFound) {
		return ErrRequestNotFound
	} else if err != nil {
		return err
	}
	return nil
}

// Deny implements Flows: the request ends and the browser goes back to
// the client with access_denied (OpenID Connect Core, section 3.1.2.6).
func (p *Provider) Deny(ctx context.Context, id string) (string, error) {
	return p.Fail(ctx, id, "access_denied")
}

// opClient is a Client as the op sees it.
type opClient struct {
	c Client
	p *Provider
}

func (o opClient) GetID() string                    { return o.c.ID }
func (o opClient) RedirectURIs() []string           { return o.c.RedirectURIs }
func (o opClient) PostLogoutRedirectURIs() []string { return o.c.PostLogoutRedirectURIs }
func (o opClient) ApplicationType() op.ApplicationType {
	if o.c.Confidential {
		return op.ApplicationTypeWeb
	}
	return op.ApplicationTypeUserAgent
}
func (o opClient) AuthMethod() oidc.AuthMethod {
	if o.c.Confidential {
		return oidc.AuthMethodBasic
	}
	return oidc.AuthMethodNone
}
func (o opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (o opClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (o opClient) LoginURL(id string) string {
	return o.p.cfg.LoginPath + "?authRequestID=" + url.QueryEscape(id)
}
func (o opClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (o opClient) IDTokenLifetime() time.Duration      { return o.p.cfg.IDTokenTTL }

// DevMode lets a public client use an http redirect URI, which the op
// otherwise refuses; registration allows http only on loopback hosts.
func (o opClient) DevMode() bool { return !o.c.Confidential }
func (o opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (o opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (o opClient) IsScopeAllowed(scope string) bool     { return slices.Contains(o.c.Scopes, scope) }
func (o opClient) IDTokenUserinfoClaimsAssertion() bool { return true }
func (o opClient) ClockSkew() time.Duration             { return 0 }

// Key is the provider's signing key, for the JWKS.
func (p *Provider) Key() *SigningKey { return p.key }

// Clients is the provider's client store, for the admin use cases.
func (p *Provider) Clients() *Clients { return p.clients }
