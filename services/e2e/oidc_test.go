package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestOIDCProviderWithClientsFromTheCLI registers clients with `sso clients
// create` as an operator would, discovers the provider on the sso binary
// with a relying-party library, and checks that authorize sends a valid
// request to the hosted login page and refuses what it must; `sso clients
// delete` then takes the client away.
func TestOIDCProviderWithClientsFromTheCLI(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	issuer := "http://" + s.ssoHTTP
	out, err := s.ssoCommand(s.ssoEnv, "clients", "create", "-name", "Shop", "-first-party",
		"-redirect-uri", "http://127.0.0.1:9/cb", "-scope", "openid,email,offline_access")
	if err != nil {
		t.Fatalf("sso clients create: %v\n%s", err, out)
	}
	var created struct {
		Client struct {
			ID string `json:"client_id"`
		} `json:"client"`
		Secret string `json:"client_secret"`
	}
	// The command logs to stderr; stdout's JSON object is the last thing.
	if err := json.Unmarshal(out[strings.Index(string(out), "{\n"):], &created); err != nil || created.Client.ID == "" || created.Secret == "" {
		t.Fatalf("sso clients create printed %s (%v)", out, err)
	}
	if strings.Count(string(out), created.Secret) != 1 {
		t.Fatal("the secret appears more than once in the command's output (logged?)")
	}
	if out, err := s.ssoCommand(s.ssoEnv, "clients", "list"); err != nil || !strings.Contains(string(out), created.Client.ID) || strings.Contains(string(out), created.Secret) {
		t.Fatalf("sso clients list: %v\n%s", err, out)
	}

	ctx := gooidc.InsecureIssuerURLContext(context.Background(), issuer)
	provider, err := gooidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	cfg := oauth2.Config{ClientID: created.Client.ID, ClientSecret: created.Secret, RedirectURL: "http://127.0.0.1:9/cb",
		Endpoint: provider.Endpoint(), Scopes: []string{gooidc.ScopeOpenID, "email"}}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := func(cfg oauth2.Config) (int, *url.URL) {
		resp, err := noFollow.Get(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := resp.Location()
		return resp.StatusCode, loc
	}
	if status, loc := authorize(cfg); status != http.StatusFound || loc.Path != "/login" || loc.Query().Get("authRequestID") == "" {
		t.Fatalf("authorize: %d %v, want the hosted login page", status, loc)
	}
	bad := cfg
	bad.RedirectURL = "http://127.0.0.1:9/elsewhere"
	if status, loc := authorize(bad); status == http.StatusFound {
		t.Fatalf("authorize with an unregistered redirect URI redirected to %v", loc)
	}
	if _, err := cfg.Exchange(ctx, "made-up-code"); err == nil {
		t.Fatal("the token endpoint took a made-up code")
	}
	if out, err := s.ssoCommand(s.ssoEnv, "clients", "delete", created.Client.ID); err != nil {
		t.Fatalf("sso clients delete: %v\n%s", err, out)
	}
	if status, loc := authorize(cfg); status == http.StatusFound {
		t.Fatalf("authorize for a deleted client redirected to %v", loc)
	}
}
