package service_test

import (
	"encoding/json"
	"net/http"
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
