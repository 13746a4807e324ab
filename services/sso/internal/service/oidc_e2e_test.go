package service_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestDiscoveryPointsAtTheJWKSWithTheRS256Key checks the wiring of the
// OpenID Connect provider in the sso process: discovery is served on the
// HTTP port, and the JWKS it names is sso's one, which publishes the RS256
// key of ID tokens beside the EdDSA keys of the API's tokens.
func TestDiscoveryPointsAtTheJWKSWithTheRS256Key(t *testing.T) {
	h := sso(t)
	var disc struct {
		Issuer        string   `json:"issuer"`
		JWKSURI       string   `json:"jwks_uri"`
		Token         string   `json:"token_endpoint"`
		Algs          []string `json:"id_token_signing_alg_values_supported"`
		PKCE          []string `json:"code_challenge_methods_supported"`
		EndSession    string   `json:"end_session_endpoint"`
		Revocation    string   `json:"revocation_endpoint"`
		Introspection string   `json:"introspection_endpoint"`
	}
	getJSON(t, h.baseURL+"/.well-known/openid-configuration", &disc)
	iss := h.cfg.OIDC.PublicURL
	if disc.Issuer != iss || disc.JWKSURI != iss+"/.well-known/jwks.json" || disc.Token != iss+"/oauth/token" ||
		len(disc.Algs) != 1 || disc.Algs[0] != "RS256" || len(disc.PKCE) != 1 || disc.PKCE[0] != "S256" ||
		disc.EndSession == "" || disc.Revocation == "" || disc.Introspection == "" {
		t.Fatalf("discovery: %+v", disc)
	}
	var set jose.JSONWebKeySet
	getJSON(t, h.baseURL+"/.well-known/jwks.json", &set)
	algs := map[string]int{}
	for _, k := range set.Keys {
		algs[k.Algorithm]++
		if !k.Valid() || k.KeyID == "" {
			t.Errorf("key %q is not a valid public JWK", k.KeyID)
		}
	}
	if algs["RS256"] != 1 || algs["EdDSA"] < 1 {
		t.Fatalf("JWKS algorithms %v, want one RS256 key beside the EdDSA ones", algs)
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestAdministratorsRegisterClients drives the client RPCs over REST on
// the sso process: only an administrator may, the secret is shown once
// and stored hashed, bad registrations are refused, and a rotation or a
// deletion takes effect.
func TestAdministratorsRegisterClients(t *testing.T) {
	t.Parallel()
	h := sso(t)
	ada := transports[0].register(t, h, email(t), goodPassword)
	rootEmail := email(t)
	root := transports[0].register(t, h, rootEmail, goodPassword)
	if _, err := h.primary.Exec("UPDATE users SET is_admin = true WHERE id = $1", root.UserID); err != nil {
		t.Fatal(err)
	}
	root, code := transports[0].login(t, h, rootEmail, goodPassword)
	if code != http.StatusOK {
		t.Fatalf("administrator login: %d", code)
	}
	reg := map[string]any{"name": "Shop", "confidential": true, "redirect_uris": []string{"https://shop.example/cb"},
		"post_logout_redirect_uris": []string{"https://shop.example/"}, "scopes": []string{"openid", "email", "offline_access"}}

	if r := h.rest(t, http.MethodPost, "/v1/admin/clients", ada.Access, reg); r.Status != http.StatusForbidden {
		t.Fatalf("a non-administrator registering: %d %s", r.Status, r.Raw)
	}
	if r := h.rest(t, http.MethodGet, "/v1/admin/clients", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("listing without a token: %d", r.Status)
	}
	for name, bad := range map[string]map[string]any{
		"http redirect": {"name": "x", "redirect_uris": []string{"http://shop.example/cb"}},
		"fragment":      {"name": "x", "redirect_uris": []string{"https://shop.example/cb#x"}},
		"no redirect":   {"name": "x"},
		"unknown scope": {"name": "x", "redirect_uris": []string{"https://shop.example/cb"}, "scopes": []string{"admin"}},
		"empty name":    {"name": " ", "redirect_uris": []string{"https://shop.example/cb"}},
	} {
		if r := h.rest(t, http.MethodPost, "/v1/admin/clients", root.Access, bad); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, r.Status, r.Raw)
		}
	}

	r := h.rest(t, http.MethodPost, "/v1/admin/clients", root.Access, reg)
	if r.Status != http.StatusOK {
		t.Fatalf("register: %d %s", r.Status, r.Raw)
	}
	client, _ := r.Body["client"].(map[string]any)
	id, _ := client["client_id"].(string)
	secret, _ := r.Body["client_secret"].(string)
	if id == "" || len(secret) < 40 || client["confidential"] != true {
		t.Fatalf("register: %s", r.Raw)
	}
	var stored string
	if err := h.primary.QueryRow("SELECT secret_hash FROM oidc_clients WHERE id = $1", id).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored == secret || len(stored) != 64 {
		t.Fatalf("the secret is not stored as its SHA-256: %q", stored)
	}
	if g := h.rest(t, http.MethodGet, "/v1/admin/clients/"+id, root.Access, nil); g.Status != http.StatusOK || strings.Contains(g.Raw, secret) || strings.Contains(g.Raw, stored) {
		t.Fatalf("get: %d %s", g.Status, g.Raw)
	}
	if l := h.rest(t, http.MethodGet, "/v1/admin/clients", root.Access, nil); l.Status != http.StatusOK || !strings.Contains(l.Raw, id) {
		t.Fatalf("list: %d %s", l.Status, l.Raw)
	}
	rot := h.rest(t, http.MethodPost, "/v1/admin/clients/"+id+"/secret", root.Access, map[string]any{})
	if fresh, _ := rot.Body["client_secret"].(string); rot.Status != http.StatusOK || fresh == "" || fresh == secret {
		t.Fatalf("rotate: %d %s", rot.Status, rot.Raw)
	}
	if d := h.rest(t, http.MethodDelete, "/v1/admin/clients/"+id, root.Access, nil); d.Status != http.StatusOK {
		t.Fatalf("delete: %d %s", d.Status, d.Raw)
	}
	if g := h.rest(t, http.MethodGet, "/v1/admin/clients/"+id, root.Access, nil); g.Status != http.StatusNotFound {
		t.Fatalf("get after delete: %d %s", g.Status, g.Raw)
	}
}
