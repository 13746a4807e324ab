package token

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// JWKS is a JSON Web Key Set (RFC 7517 §5): the public keys verifiers may
// check access tokens against.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK is one Ed25519 public key as a JSON Web Key (RFC 8037 §2).
type JWK struct {
	KeyType string `json:"kty"`
	Curve   string `json:"crv"`
	// X is the public key, base64url without padding.
	X string `json:"x"`
	// KeyID is the kid tokens signed by this key carry in their header.
	KeyID     string `json:"kid"`
	Use       string `json:"use"`
	Algorithm string `json:"alg"`
}

// JWKS returns every key in the set, newest first: the one that signs,
// those that will sign, and older ones still accepted.
func (ks *KeySet) JWKS() JWKS {
	set := JWKS{Keys: make([]JWK, 0, len(ks.keys))}
	for _, k := range slices.Backward(ks.keys) {
		set.Keys = append(set.Keys, JWK{
			KeyType:   "OKP",
			Curve:     "Ed25519",
			X:         base64.RawURLEncoding.EncodeToString(k.pub),
			KeyID:     k.kid,
			Use:       "sig",
			Algorithm: "EdDSA",
		})
	}
	return set
}

// jwksMaxAge is how long verifiers may cache the key set. A new key must be
// published at least this long before it signs (see [RotateAt]).
const jwksMaxAge = "300"

// JWKSHandler serves the key set of ks as application/json, for
// /.well-known/jwks.json. Responses may be cached for five minutes and carry
// an ETag, so a verifier polling the set mostly gets 304 Not Modified.
func JWKSHandler(ks *KeySet) http.Handler {
	body, err := json.Marshal(ks.JWKS())
	if err != nil {
		// Only strings go into the document; this cannot happen.
		panic("token: encode JWKS: " + err.Error())
	}
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age="+jwksMaxAge)
		h.Set("ETag", etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}
