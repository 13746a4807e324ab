package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// NewRefresh returns a new refresh token: raw, 256 random bits as base64url
// without padding, goes to the client and is never stored; hash,
// [HashRefresh] of raw, is what the server keeps and looks tokens up by.
func NewRefresh() (raw, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	raw = base64.RawURLEncoding.EncodeToString(b[:])
	return raw, HashRefresh(raw), nil
}

// HashRefresh returns the hex SHA-256 of a raw refresh token: the key under
// which the server stores it, so a leak of the store yields no usable token.
//
// A fast, unsalted hash is right here, unlike for passwords: a refresh token
// has 256 bits of entropy, so no guessing attack or precomputed table can
// invert its hash, and a slow hash would only cost every refresh. Being
// deterministic, the hash is also a direct lookup key.
func HashRefresh(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}
