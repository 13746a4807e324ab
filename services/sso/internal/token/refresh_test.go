package token

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

func TestNewRefresh(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		raw, hash, err := NewRefresh()
		if err != nil {
			t.Fatal(err)
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(raw)
		if err != nil || len(b) != 32 {
			t.Fatalf("raw %q is not 256 bits of unpadded base64url (%v)", raw, err)
		}
		sum := sha256.Sum256([]byte(raw))
		if want := hex.EncodeToString(sum[:]); hash != want {
			t.Fatalf("hash = %q, want hex SHA-256 of raw %q", hash, want)
		}
		if hash != HashRefresh(raw) {
			t.Fatalf("hash %q differs from HashRefresh(raw) %q", hash, HashRefresh(raw))
		}
		if seen[raw] {
			t.Fatalf("raw token %q made twice", raw)
		}
		seen[raw] = true
	}
}

func TestHashRefresh(t *testing.T) {
	tests := []struct{ raw, want string }{
		// FIPS 180-2 test vectors.
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		if got := HashRefresh(tt.raw); got != tt.want {
			t.Errorf("HashRefresh(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
