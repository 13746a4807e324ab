package service_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/ssokit/platform/services/sso/internal/token"
)

// TestValidateRefusesForgedTokens presents tokens an attacker could make and
// expects each to be reported invalid, over both transports.
func TestValidateRefusesForgedTokens(t *testing.T) {
	h := sso(t)
	genuine := transports[0].register(t, h, email(t), goodPassword)

	keys, err := token.LoadDir(h.cfg.Tokens.KeysDir)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	hourAgo := func() time.Time { return time.Now().Add(-time.Hour) }

	// Each forgery is what sso would issue but for one thing.
	aud := token.WithAudience(h.cfg.Tokens.Audience...)
	forged := map[string]string{
		// A well-formed token signed by a key sso never published.
		"signed by another key": issue(t, token.NewIssuer(token.NewKeySet(otherKey), h.cfg.Tokens.Issuer, 15*time.Minute, aud)),
		// Signed with sso's own key, but it expired 45 minutes ago.
		"expired": issue(t, token.NewIssuer(keys, h.cfg.Tokens.Issuer, 15*time.Minute, aud, token.WithClock(hourAgo))),
		// The classic: no signature at all.
		"alg none": unsigned(t, genuine.Access),
		// The genuine signature over a payload that now claims admin.
		"tampered payload": tamper(t, genuine.Access),
		// Signed with sso's key for another issuer.
		"wrong issuer": issue(t, token.NewIssuer(keys, "https://evil.example", 15*time.Minute, aud)),
		// Signed with sso's key and issuer, for another service.
		"another audience": issue(t, token.NewIssuer(keys, h.cfg.Tokens.Issuer, 15*time.Minute, token.WithAudience("billing"))),
		// Signed with sso's key and issuer, for no one in particular.
		"no audience": issue(t, token.NewIssuer(keys, h.cfg.Tokens.Issuer, 15*time.Minute)),
	}
	for _, tr := range transports {
		for name, raw := range forged {
			t.Run(tr.name+"/"+name, func(t *testing.T) {
				if tr.validate(t, h, raw) {
					t.Fatal("forged token reported valid")
				}
			})
		}
		t.Run(tr.name+"/genuine", func(t *testing.T) {
			if !tr.validate(t, h, genuine.Access) {
				t.Fatal("genuine token reported invalid")
			}
		})
	}
}

func issue(t *testing.T, i *token.Issuer) string {
	t.Helper()
	raw, _, err := i.Issue(token.Claims{Subject: "3f1c8f0e-2f4b-4a57-a3e8-0c6f1f2b9e42", Email: "mallory@example.test", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unsigned re-heads a token's payload with alg "none" and drops the signature.
func unsigned(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	return header + "." + parts[1] + "."
}

// tamper flips the admin claim of a genuine token, keeping its signature.
func tamper(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims["admin"] = true
	b, _ := json.Marshal(claims)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

// TestJWKSVerifiesWithAnIndependentLibrary fetches the published keys and
// verifies an access token with go-jose, a JOSE implementation that shares
// no code with ours: any service can check sso's tokens without a secret.
func TestJWKSVerifiesWithAnIndependentLibrary(t *testing.T) {
	h := sso(t)
	tok := transports[1].register(t, h, email(t), goodPassword)

	resp, err := http.Get(h.baseURL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("jwks: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}

	parsed, err := josejwt.ParseSigned(tok.Access, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	kid := parsed.Headers[0].KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("kid %q: %d keys in the JWKS, want 1", kid, len(keys))
	}
	var claims josejwt.Claims
	var custom struct {
		Email string `json:"email"`
		Admin bool   `json:"admin"`
	}
	if err := parsed.Claims(keys[0].Key, &claims, &custom); err != nil {
		t.Fatalf("go-jose refuses the token: %v", err)
	}
	if err := claims.ValidateWithLeeway(josejwt.Expected{Issuer: h.cfg.Tokens.Issuer, Subject: tok.UserID, Time: time.Now()}, 0); err != nil {
		t.Fatalf("claims: %v", err)
	}
	if ttl := claims.Expiry.Time().Sub(claims.IssuedAt.Time()); ttl != 15*time.Minute {
		t.Errorf("lifetime = %v, want 15m", ttl)
	}
	if custom.Admin || !strings.HasSuffix(custom.Email, "@example.test") || claims.ID == "" {
		t.Errorf("claims = %+v %+v", claims, custom)
	}
}
