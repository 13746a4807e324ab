package token_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/ssokit/platform/services/sso/internal/token"
)

// Issuer has the method set of auth.Signer (restated here, so these tests
// do not depend on the auth package building).
var _ interface {
	Issue(c token.Claims) (string, token.Claims, error)
	Verify(raw string) (token.Claims, error)
} = (*token.Issuer)(nil)

// TestVerifyWithGoJOSE checks our tokens and key set against an
// independent JOSE implementation, the way another service would: read the
// JWKS, pick the key by kid, verify, validate the claims.
func TestVerifyWithGoJOSE(t *testing.T) {
	now := time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC)
	_, older, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, active, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := token.NewKeySet(active, older.Public().(ed25519.PublicKey))
	iss := token.NewIssuer(keys, "https://sso.test", 15*time.Minute, token.WithClock(func() time.Time { return now }))
	raw, issued, err := iss.Issue(token.Claims{Subject: "u-42", Email: "ann@example.com", Admin: true})
	if err != nil {
		t.Fatal(err)
	}

	// The document as httpapi.JWKS serves it; its test checks the body is
	// exactly this.
	body, err := json.Marshal(keys.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("go-jose cannot read our JWKS: %v", err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want 2", len(set.Keys))
	}
	for _, k := range set.Keys {
		tp, err := k.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if want := base64.RawURLEncoding.EncodeToString(tp); k.KeyID != want {
			t.Errorf("kid %q is not the RFC 7638 thumbprint %q", k.KeyID, want)
		}
		if k.Algorithm != string(jose.EdDSA) || k.Use != "sig" || !k.IsPublic() {
			t.Errorf("key %s: alg %q use %q public %v, want EdDSA sig public", k.KeyID, k.Algorithm, k.Use, k.IsPublic())
		}
	}

	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatalf("go-jose cannot parse our token: %v", err)
	}
	kid := tok.Headers[0].KeyID
	if kid != keys.ActiveKID(now) {
		t.Errorf("kid = %q, want the active key %q", kid, keys.ActiveKID(now))
	}
	matches := set.Key(kid)
	if len(matches) != 1 {
		t.Fatalf("JWKS has %d keys with kid %q, want 1", len(matches), kid)
	}
	var std josejwt.Claims
	var own struct {
		Email string `json:"email"`
		Admin bool   `json:"admin"`
	}
	if err := tok.Claims(matches[0].Key, &std, &own); err != nil {
		t.Fatalf("go-jose refuses our signature: %v", err)
	}
	if err := std.Validate(josejwt.Expected{Issuer: "https://sso.test", Time: now.Add(time.Minute)}); err != nil {
		t.Fatalf("go-jose refuses our claims: %v", err)
	}
	if err := std.Validate(josejwt.Expected{Issuer: "https://sso.test", Time: now.Add(20 * time.Minute)}); err == nil {
		t.Error("go-jose accepts our token after its expiry")
	}

	got := token.Claims{
		ID:        std.ID,
		Subject:   std.Subject,
		Email:     own.Email,
		Admin:     own.Admin,
		IssuedAt:  std.IssuedAt.Time().UTC(),
		NotBefore: std.NotBefore.Time().UTC(),
		ExpiresAt: std.Expiry.Time().UTC(),
	}
	if got != issued {
		t.Errorf("go-jose reads %+v, want %+v", got, issued)
	}
	if nbf := std.NotBefore.Time().UTC(); !nbf.Equal(issued.IssuedAt) {
		t.Errorf("nbf = %v, want iat %v", nbf, issued.IssuedAt)
	}

	// The same key set refuses a token go-jose signs with a foreign key.
	_, foreign, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: foreign},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	forged, err := josejwt.Signed(signer).Claims(std).Claims(own).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Verify(forged); err == nil {
		t.Error("Verify accepts a token signed by a foreign key under our kid")
	}
	// And accepts one go-jose signs with the real key: the formats agree
	// both ways.
	signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: active},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	genuine, err := josejwt.Signed(signer).Claims(std).Claims(own).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	back, err := iss.Verify(genuine)
	if err != nil {
		t.Fatalf("Verify refuses a go-jose token signed with our key: %v", err)
	}
	if back != issued {
		t.Errorf("Verify of the go-jose token = %+v, want %+v", back, issued)
	}
}
