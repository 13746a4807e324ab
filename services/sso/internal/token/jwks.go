package token

import (
	"encoding/base64"
	"slices"
)

// JWKS is a JSON Web Key Set (RFC 7517 §5): the public keys verifiers may
// check access tokens against.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK is one public key as a JSON Web Key: an Ed25519 key (RFC 8037 §2,
// Curve and X) or an RSA key (RFC 7518 §6.3.1, N and E), the one the
// OpenID Connect provider signs ID tokens with.
type JWK struct {
	KeyType string `json:"kty"`
	Curve   string `json:"crv,omitempty"`
	// X is the Ed25519 public key, base64url without padding.
	X string `json:"x,omitempty"`
	// N and E are the RSA modulus and exponent, base64url.
	N string `json:"n,omitempty"`
	E string `json:"e,omitempty"`
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
