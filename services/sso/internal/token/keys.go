package token

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"time"
)

// KeySet is the keys an [Issuer] signs and verifies with: the keys that may
// sign, each from its own instant, plus public keys that only verify. Every
// key in the set is published in the JWK Set. A KeySet is immutable and safe
// for concurrent use; to change keys, load a new one.
type KeySet struct {
	keys  []key // ordered by from, oldest first
	byKID map[string]ed25519.PublicKey
}

// key is one published key; priv is nil for a key that only verifies.
type key struct {
	kid  string
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
	from time.Time
}

// NewKeySet returns a set in which active signs and olderPublic are
// published for verification only; meant for tests and for callers that
// hold keys they made themselves. It panics if a key has the wrong length,
// as that can only be a programming error.
func NewKeySet(active ed25519.PrivateKey, olderPublic ...ed25519.PublicKey) *KeySet {
	if len(active) != ed25519.PrivateKeySize {
		panic(fmt.Sprintf("token: active key has %d bytes, want %d", len(active), ed25519.PrivateKeySize))
	}
	keys := make([]key, 0, len(olderPublic)+1)
	for i, pub := range olderPublic {
		if len(pub) != ed25519.PublicKeySize {
			panic(fmt.Sprintf("token: older key %d has %d bytes, want %d", i, len(pub), ed25519.PublicKeySize))
		}
		keys = append(keys, key{kid: KeyID(pub), pub: pub})
	}
	pub := active.Public().(ed25519.PublicKey)
	keys = append(keys, key{kid: KeyID(pub), pub: pub, priv: active})
	ks, err := newKeySet(keys)
	if err != nil {
		panic("token: " + err.Error())
	}
	return ks
}

// newKeySet indexes keys, which must be ordered by from; the same key twice
// is an error, since its two copies could not be told apart by kid.
func newKeySet(keys []key) (*KeySet, error) {
	ks := &KeySet{keys: keys, byKID: make(map[string]ed25519.PublicKey, len(keys))}
	for _, k := range keys {
		if _, dup := ks.byKID[k.kid]; dup {
			return nil, fmt.Errorf("key %s appears twice", k.kid)
		}
		ks.byKID[k.kid] = k.pub
	}
	return ks, nil
}

// signer returns the key that signs at now: the latest one, among those
// that can sign, whose instant has come.
func (ks *KeySet) signer(now time.Time) (key, bool) {
	for _, k := range slices.Backward(ks.keys) {
		if k.priv != nil && !k.from.After(now) {
			return k, true
		}
	}
	return key{}, false
}

// ActiveKID returns the kid of the key that signs at now, or "" if no key
// signs yet.
func (ks *KeySet) ActiveKID(now time.Time) string {
	k, _ := ks.signer(now)
	return k.kid
}

// publicKey returns the published key named kid.
func (ks *KeySet) publicKey(kid string) (ed25519.PublicKey, bool) {
	pub, ok := ks.byKID[kid]
	return pub, ok
}

// KeyID returns the kid of pub: its RFC 7638 JWK thumbprint (SHA-256,
// base64url). It depends on the key alone, so every replica, and any
// verifier holding the JWK, derives the same id without coordination.
func KeyID(pub ed25519.PublicKey) string {
	// RFC 7638 §3.2 and RFC 8037 §2: the required members of an OKP key in
	// lexicographic order, no whitespace.
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
