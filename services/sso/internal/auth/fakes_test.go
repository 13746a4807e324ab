package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/token"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// In-memory stand-ins for the ports, for fast unit tests of the use-case
// rules only. The real adapters are tested against PostgreSQL and Redis in
// their own packages and end to end in internal/service.

type memUsers struct {
	mu      sync.Mutex
	byEmail map[string]user.User
}

func newMemUsers() *memUsers { return &memUsers{byEmail: map[string]user.User{}} }

func (m *memUsers) Create(_ context.Context, u user.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byEmail[u.Email]; ok {
		return user.ErrEmailTaken
	}
	m.byEmail[u.Email] = u
	return nil
}

func (m *memUsers) ByEmail(_ context.Context, email string) (user.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.byEmail[email]
	if !ok {
		return user.User{}, user.ErrNotFound
	}
	return u, nil
}

func (m *memUsers) ByID(_ context.Context, id string) (user.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.byEmail {
		if u.ID == id {
			return u, nil
		}
	}
	return user.User{}, user.ErrNotFound
}

func (m *memUsers) SetPasswordHash(_ context.Context, id, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for e, u := range m.byEmail {
		if u.ID == id {
			u.PasswordHash = hash
			m.byEmail[e] = u
			return nil
		}
	}
	return user.ErrNotFound
}

type memSessions struct {
	mu       sync.Mutex
	tokens   map[string]auth.Session // token hash -> session
	current  map[string]string       // family -> current hash
	revoked  map[string]bool         // family -> revoked
	accessRv map[string]time.Time
}

func newMemSessions() *memSessions {
	return &memSessions{tokens: map[string]auth.Session{}, current: map[string]string{},
		revoked: map[string]bool{}, accessRv: map[string]time.Time{}}
}

func (m *memSessions) Start(_ context.Context, s auth.Session, hash string, _ time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[hash] = s
	m.current[s.Family] = hash
	return nil
}

func (m *memSessions) Rotate(_ context.Context, oldHash, newHash string, _ time.Duration) (auth.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.tokens[oldHash]
	if !ok || m.revoked[s.Family] {
		return auth.Session{}, auth.ErrInvalidToken
	}
	if m.current[s.Family] != oldHash {
		m.revoked[s.Family] = true
		return auth.Session{}, auth.ErrRefreshReused
	}
	m.tokens[newHash] = s
	m.current[s.Family] = newHash
	return s, nil
}

func (m *memSessions) Find(_ context.Context, hash string) (auth.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.tokens[hash]
	if !ok || m.revoked[s.Family] || m.current[s.Family] != hash {
		return auth.Session{}, auth.ErrInvalidToken
	}
	return s, nil
}

func (m *memSessions) Revoke(_ context.Context, family string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revoked[family] = true
	return nil
}

func (m *memSessions) RevokeAccess(_ context.Context, jti string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.accessRv[jti] = until
	return nil
}

func (m *memSessions) AccessRevoked(_ context.Context, jti string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.accessRv[jti]
	return ok, nil
}

type memThrottle struct {
	mu    sync.Mutex
	limit int
	fails map[string]int
}

func (m *memThrottle) Blocked(_ context.Context, keys ...string) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		if m.fails[k] >= m.limit {
			return time.Minute, nil
		}
	}
	return 0, nil
}

func (m *memThrottle) Failed(_ context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		m.fails[k]++
	}
	return nil
}

func (m *memThrottle) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.fails, key)
	return nil
}

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
