package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"testing"
)

// TestKeyIDThumbprint checks KeyID against the JWK thumbprint example of
// RFC 8037 Appendix A.3.
func TestKeyIDThumbprint(t *testing.T) {
	x, err := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if err != nil {
		t.Fatal(err)
	}
	const want = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	if got := KeyID(ed25519.PublicKey(x)); got != want {
		t.Errorf("KeyID = %q, want %q", got, want)
	}
}

func TestJWKS(t *testing.T) {
	active, older := newKey(t), newKey(t)
	ks := NewKeySet(active, public(older))

	want := `{"keys":[` +
		`{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(public(active)) +
		`","kid":"` + KeyID(public(active)) + `","use":"sig","alg":"EdDSA"},` +
		`{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(public(older)) +
		`","kid":"` + KeyID(public(older)) + `","use":"sig","alg":"EdDSA"}]}`
	got, err := json.Marshal(ks.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("JWKS =\n%s\nwant\n%s", got, want)
	}
}
