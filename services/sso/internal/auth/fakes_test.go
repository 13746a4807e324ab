package auth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ssokit/platform/services/sso/internal/token"
)

// Stand-ins for the ports without a contract suite: hashing and signing
// are pure functions, tested for real in internal/password and
// internal/token. The store fakes are in authtest, held to the adapters'
// contract.

// fakeHasher "hashes" with a version prefix so tests can observe upgrades;
// verifies counts calls so tests can prove equal work for unknown e-mails.
type fakeHasher struct {
	mu       sync.Mutex
	version  string
	verifies int
}

func (h *fakeHasher) Hash(pw string) (string, error) {
	sum := sha256.Sum256([]byte(pw))
	return h.version + "$" + hex.EncodeToString(sum[:]), nil
}

func (h *fakeHasher) Verify(pw, encoded string) (bool, bool, error) {
	h.mu.Lock()
	h.verifies++
	h.mu.Unlock()
	version, digest, ok := strings.Cut(encoded, "$")
	if !ok {
		return false, false, errors.New("malformed hash")
	}
	sum := sha256.Sum256([]byte(pw))
	return digest == hex.EncodeToString(sum[:]), version != h.version, nil
}

// fakeSigner keeps issued tokens in memory; the real Ed25519 issuer is
// tested in internal/token.
type fakeSigner struct {
	mu     sync.Mutex
	now    time.Time
	ttl    time.Duration
	issued map[string]token.Claims
}

func (s *fakeSigner) Issue(c token.Claims) (string, token.Claims, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.ID = uuid.NewString()
	c.IssuedAt = s.now
	c.ExpiresAt = s.now.Add(s.ttl)
	raw := "tok-" + c.ID
	s.issued[raw] = c
	return raw, c, nil
}

func (s *fakeSigner) Verify(raw string) (token.Claims, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.issued[raw]
	if !ok {
		return token.Claims{}, token.ErrInvalid
	}
	return c, nil
}

type fakePolicy struct{}

func (fakePolicy) Check(pw, _ string) error {
	if len(pw) < 8 {
		return errors.New("password must be at least 8 characters")
	}
	return fakePolicy{}.CheckLength(pw)
}

func (fakePolicy) CheckLength(pw string) error {
	if len(pw) > 256 {
		return errors.New("password must be at most 256 characters")
	}
	return nil
}
