package e2e_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/ssokit/platform/libs/testenv"
)

// pyrpRequirements installs what the Python relying party needs; `go tool
// task test` runs it before the tests.
const pyrpRequirements = "deploy/tools/python-venv.sh -r services/e2e/pyrp/requirements.txt"

// pyrpSummary is what services/e2e/pyrp/relying_party.py prints.
type pyrpSummary struct {
	Issuer     string `json:"issuer"`
	ClientAuth string `json:"client_auth"`
	SignIn     struct {
		Pages         []string `json:"pages"`
		Sub           string   `json:"sub"`
		Email         string   `json:"email"`
		SID           string   `json:"sid"`
		Alg           string   `json:"alg"`
		NonceChecked  bool     `json:"nonce_checked"`
		EmailVerified *bool    `json:"email_verified"`
	} `json:"sign_in"`
	Userinfo map[string]any `json:"userinfo"`
	Refresh  struct {
		Rotated              bool   `json:"rotated"`
		NewAccessTokenWorks  bool   `json:"new_access_token_works"`
		OldRefreshToken      string `json:"old_refresh_token"`
		NewRefreshAfterReuse string `json:"new_refresh_token_after_reuse"`
	} `json:"refresh"`
	SecondSignIn struct {
		Sub        string   `json:"sub"`
		SID        string   `json:"sid"`
		PagesShown []string `json:"pages_shown"`
	} `json:"second_sign_in"`
	Logout struct {
		EndedAt           string `json:"ended_at"`
		RefreshToken      string `json:"refresh_token"`
		UserinfoStatus    int    `json:"userinfo_status"`
		SilentSignIn      string `json:"silent_sign_in"`
		RefreshTokenValue string `json:"refresh_token_value"`
	} `json:"logout"`
}

// TestIndependentRelyingParty signs a user in with a relying party that
// shares nothing with sso's Go code: Python's Authlib, given only the
// discovery URL and clients registered through POST /v1/admin/clients as
// the README shows, playing the browser with requests through the hosted
// sign-in (and, for the third-party client, consent) pages. Its summary
// must name the user, show the refresh token rotated and the old one
// refused, a second sign-in answered by the provider's session without a
// form, and RP-initiated logout ending that session: the refresh token,
// the access token and a silent sign-in all fail afterwards.
func TestIndependentRelyingParty(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	python := pyrpVenv(t)
	_, admin := s.admin(t)
	email := s.email(t)
	userID, _ := s.register(t, email, nil)
	discovery := s.url("/.well-known/openid-configuration")
	const redirectURI, postLogoutURI = "http://127.0.0.1:9/callback", "http://127.0.0.1:9/"

	for _, c := range []struct {
		name                     string
		confidential, firstParty bool
		authMethod               string
		pages                    []string
	}{
		{"confidential", true, true, "client_secret_basic", []string{"/login"}},
		{"confidential with the secret in the body", true, true, "client_secret_post", []string{"/login"}},
		{"public with PKCE", false, false, "none", []string{"/login", "/consent"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The README's registration call, field for field.
			r := call(t, http.MethodPost, s.url("/v1/admin/clients"), admin.access, map[string]any{
				"name": "Python " + c.name, "confidential": c.confidential, "first_party": c.firstParty,
				"redirect_uris":             []string{redirectURI},
				"post_logout_redirect_uris": []string{postLogoutURI},
				"scopes":                    []string{"openid", "email", "offline_access"},
			}, nil)
			client, _ := r.Body["client"].(map[string]any)
			clientID, _ := client["client_id"].(string)
			secret := r.str("client_secret")
			if r.Status != http.StatusOK || clientID == "" || c.confidential != (secret != "") {
				t.Fatalf("register client: %d %s", r.Status, r.Raw)
			}

			sum := runRelyingParty(t, python, map[string]string{"RP_CLIENT_SECRET": secret, "RP_PASSWORD": password},
				"--discovery-url", discovery, "--client-id", clientID, "--auth-method", c.authMethod,
				"--redirect-uri", redirectURI, "--post-logout-redirect-uri", postLogoutURI, "--email", email)

			if sum.Issuer != s.url("") || sum.ClientAuth != c.authMethod {
				t.Errorf("issuer %q, client auth %q; want %q, %q", sum.Issuer, sum.ClientAuth, s.url(""), c.authMethod)
			}
			in := sum.SignIn
			if in.Sub != userID || in.Email != email || in.Alg != "RS256" || !in.NonceChecked || in.SID == "" || in.EmailVerified != nil && *in.EmailVerified {
				t.Errorf("sign-in: %+v; want sub %s, email %s (not verified), an RS256 ID token with sid", in, userID, email)
			}
			if !slices.Equal(in.Pages, c.pages) {
				t.Errorf("the browser was shown %v, want %v", in.Pages, c.pages)
			}
			if sum.Userinfo["sub"] != userID || sum.Userinfo["email"] != email {
				t.Errorf("userinfo %v; want sub %s and email %s", sum.Userinfo, userID, email)
			}
			if rf := sum.Refresh; !rf.Rotated || !rf.NewAccessTokenWorks || rf.OldRefreshToken != "invalid_grant" || rf.NewRefreshAfterReuse != "invalid_grant" {
				t.Errorf("refresh: %+v; want rotation, the old token refused and, once it was presented again, its family ended", rf)
			}
			if ss := sum.SecondSignIn; ss.Sub != userID || ss.SID != in.SID || len(ss.PagesShown) != 0 {
				t.Errorf("second sign-in: %+v; want the same user and session (%s) without a page", ss, in.SID)
			}
			lo := sum.Logout
			if lo.EndedAt == "" || lo.RefreshToken != "invalid_grant" || lo.UserinfoStatus != http.StatusUnauthorized || lo.SilentSignIn != "login_required" {
				t.Errorf("after logout: %+v; want the refresh token refused, userinfo 401 and login_required", lo)
			}

			// And seen from here: the session's refresh token is dead.
			conf := oauth2.Config{ClientID: clientID, ClientSecret: secret,
				Endpoint: oauth2.Endpoint{TokenURL: s.url("/oauth/token")}}
			if _, err := conf.TokenSource(testenv.Context(t, 30*time.Second), &oauth2.Token{RefreshToken: lo.RefreshTokenValue}).Token(); err == nil {
				t.Error("the refresh token of the signed-out session still works")
			}
		})
	}
}

// pyrpVenv returns the venv's interpreter with the relying party's
// packages, and fails the test when either is missing.
func pyrpVenv(t *testing.T) string {
	t.Helper()
	python := filepath.Join(repoRoot(), ".local", "venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("no Python venv at %s (%v): run %s", python, err, pyrpRequirements)
	}
	out, err := exec.Command(python, "-c", "import authlib.integrations.requests_client, authlib.oidc.core, joserfc, requests").CombinedOutput()
	if err != nil {
		t.Fatalf("the venv lacks the relying party's packages (%v): run %s\n%s", err, pyrpRequirements, out)
	}
	return python
}

// runRelyingParty runs the script with args and env and decodes its summary.
func runRelyingParty(t *testing.T, python string, env map[string]string, args ...string) pyrpSummary {
	t.Helper()
	ctx := testenv.Context(t, 2*time.Minute)
	cmd := exec.CommandContext(ctx, python, append([]string{filepath.Join(repoRoot(), "services", "e2e", "pyrp", "relying_party.py")}, args...)...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("relying party: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var sum pyrpSummary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("relying party printed %q: %v", stdout.String(), err)
	}
	return sum
}
