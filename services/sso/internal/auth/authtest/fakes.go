package authtest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// Users is an in-memory auth.Users. It is safe for concurrent use.
type Users struct {
	mu      sync.Mutex
	byEmail map[string]user.User

	accountOnce sync.Once
	account     *accountState

	// Audit, when set, receives the audit entries of the changes, as the
	// PostgreSQL store writes them in the changes' transactions.
	Audit *AuditLog
}

var _ auth.Users = (*Users)(nil)

// NewUsers returns an empty Users.
func NewUsers() *Users { return &Users{byEmail: map[string]user.User{}} }

// Create stores u, or returns user.ErrEmailTaken. Like the PostgreSQL
// store, which writes the user's UserRegistered event with it, it reports
// the event in progress, and a zero CreatedAt becomes the current time.
func (m *Users) Create(_ context.Context, u user.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byEmail[u.Email]; ok {
		return user.ErrEmailTaken
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	u.EventStatus = user.EventInProgress
	m.byEmail[u.Email] = u
	return nil
}

// ByEmail finds a user by e-mail, or returns user.ErrNotFound.
func (m *Users) ByEmail(_ context.Context, email string) (user.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.byEmail[email]
	if !ok {
		return user.User{}, user.ErrNotFound
	}
	return u, nil
}

// ByID finds a user by id, or returns user.ErrNotFound.
func (m *Users) ByID(_ context.Context, id string) (user.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.byEmail {
		if u.ID == id {
			return u, nil
		}
	}
	return user.User{}, user.ErrNotFound
}

// SetPasswordHash replaces a user's hash, or returns user.ErrNotFound.
func (m *Users) SetPasswordHash(_ context.Context, id, hash string) error {
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

// SetAdmin grants or revokes u's administrator role, as an operator does
// in the database; tokens issued after it carry the new role.
func (m *Users) SetAdmin(id string, admin bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for email, u := range m.byEmail {
		if u.ID == id {
			u.IsAdmin = admin
			m.byEmail[email] = u
		}
	}
}

// Len returns how many users are stored.
func (m *Users) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byEmail)
}

// Sessions is an in-memory auth.Sessions whose records expire like the
// Redis keys they stand for. It is safe for concurrent use.
type Sessions struct {
	mu       sync.Mutex
	now      func() time.Time
	tokens   map[string]expiring[auth.Session] // token hash -> its family's session
	families map[string]expiring[family]       // an ended family is deleted
	access   map[string]time.Time              // jti -> revoked until
	ended    map[string]time.Time              // user id -> last RevokeUser
}

type family struct {
	userID  string
	current string
	started time.Time
	used    time.Time
	origin  auth.Origin
}

type expiring[T any] struct {
	v     T
	until time.Time
}

var _ auth.Sessions = (*Sessions)(nil)

// NewSessions returns an empty Sessions on the wall clock.
func NewSessions() *Sessions {
	return &Sessions{now: time.Now, tokens: map[string]expiring[auth.Session]{},
		families: map[string]expiring[family]{}, access: map[string]time.Time{}, ended: map[string]time.Time{}}
}

// token returns the live session of hash and its live family.
func (m *Sessions) token(hash string) (auth.Session, family, bool) {
	now := m.now()
	t, ok := m.tokens[hash]
	if !ok || !now.Before(t.until) {
		return auth.Session{}, family{}, false
	}
	f, ok := m.families[t.v.Family]
	if !ok || !now.Before(f.until) {
		return auth.Session{}, family{}, false
	}
	return t.v, f.v, true
}

// Start opens a family whose current token is hash; both live for l.Idle,
// or l.Absolute if shorter. A RevokeUser at or after o.CheckedAt refuses
// it.
func (m *Sessions) Start(_ context.Context, s auth.Session, hash string, l auth.Lifetime, o auth.Origin) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if ended, ok := m.ended[s.UserID]; ok && !o.CheckedAt.IsZero() && !ended.Before(o.CheckedAt) {
		return auth.ErrSessionsEnded
	}
	until := now.Add(min(l.Idle, l.Absolute))
	o.CheckedAt = time.Time{}
	m.tokens[hash] = expiring[auth.Session]{s, until}
	m.families[s.Family] = expiring[family]{family{userID: s.UserID, current: hash, started: now, used: now, origin: o}, until}
	return nil
}

// Rotate follows auth.Sessions: the current token rotates, any other token
// of a live family ends it (auth.ErrRefreshReused), a family older than
// l.Absolute ends, anything else is auth.ErrInvalidToken. The new token
// lives l.Idle, capped at the family's end, and the family at least as
// long.
func (m *Sessions) Rotate(_ context.Context, oldHash, newHash string, l auth.Lifetime) (auth.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, f, ok := m.token(oldHash)
	if !ok {
		return auth.Session{}, auth.ErrInvalidToken
	}
	fam := m.families[s.Family]
	if f.current != oldHash {
		delete(m.families, s.Family)
		return s, auth.ErrRefreshReused
	}
	now := m.now()
	end := f.started.Add(l.Absolute)
	if !now.Before(end) {
		delete(m.families, s.Family)
		return auth.Session{}, auth.ErrInvalidToken
	}
	until := now.Add(l.Idle)
	if until.After(end) {
		until = end
	}
	fam.v.current = newHash
	fam.v.used = now
	if until.After(fam.until) {
		fam.until = until
	}
	m.families[s.Family] = fam
	m.tokens[newHash] = expiring[auth.Session]{s, until}
	return s, nil
}

// Find returns the session whose current token is hash, or
// auth.ErrInvalidToken.
func (m *Sessions) Find(_ context.Context, hash string) (auth.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, f, ok := m.token(hash)
	if !ok || f.current != hash {
		return auth.Session{}, auth.ErrInvalidToken
	}
	return s, nil
}

// Revoke ends a family; an unknown one is no error.
func (m *Sessions) Revoke(_ context.Context, fam string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.families, fam)
	return nil
}

// RevokeByToken ends the live family of a live token, current or rotated
// away; anything else is auth.ErrInvalidToken and changes nothing.
func (m *Sessions) RevokeByToken(_ context.Context, hash string) (auth.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, _, ok := m.token(hash)
	if !ok {
		return auth.Session{}, auth.ErrInvalidToken
	}
	delete(m.families, s.Family)
	return s, nil
}

// List returns userID's live families, newest first.
func (m *Sessions) List(_ context.Context, userID string) ([]auth.SessionInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var out []auth.SessionInfo
	for id, f := range m.families {
		if f.v.userID != userID || !now.Before(f.until) {
			continue
		}
		out = append(out, auth.SessionInfo{Family: id, Created: f.v.started, LastUsed: f.v.used,
			ClientAddress: f.v.origin.ClientAddress, UserAgent: f.v.origin.UserAgent})
	}
	slices.SortFunc(out, func(a, b auth.SessionInfo) int {
		return cmp.Or(b.Created.Compare(a.Created), strings.Compare(a.Family, b.Family))
	})
	return out, nil
}

// RevokeOwned ends fam if it is a live family of userID.
func (m *Sessions) RevokeOwned(_ context.Context, userID, fam string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.families[fam]
	if !ok || f.v.userID != userID {
		return false, nil
	}
	delete(m.families, fam)
	return m.now().Before(f.until), nil
}

// RevokeUser ends every live family of userID and refuses sessions whose
// credentials were checked until now.
func (m *Sessions) RevokeUser(_ context.Context, userID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	n := 0
	for id, f := range m.families {
		if f.v.userID != userID {
			continue
		}
		if now.Before(f.until) {
			n++
		}
		delete(m.families, id)
	}
	m.ended[userID] = now
	return n, nil
}

// RevokeAccess marks jti revoked until until; a past until records nothing.
func (m *Sessions) RevokeAccess(_ context.Context, jti string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if until.After(m.now()) {
		m.access[jti] = until
	}
	return nil
}

// AccessRevoked reports whether jti is revoked and its mark has not
// expired, or fam is not a live family.
func (m *Sessions) AccessRevoked(_ context.Context, jti, fam string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if until, ok := m.access[jti]; ok && now.Before(until) {
		return true, nil
	}
	f, ok := m.families[fam]
	return !ok || !now.Before(f.until), nil
}

// Throttle is an in-memory auth.Throttle with the fixed windows of the
// Redis one. It is safe for concurrent use.
type Throttle struct {
	mu   sync.Mutex
	now  func() time.Time
	keys map[string]counter
}

type counter struct {
	n   int
	end time.Time
}

var _ auth.Throttle = (*Throttle)(nil)

// NewThrottle returns an empty Throttle on the wall clock.
func NewThrottle() *Throttle {
	return &Throttle{now: time.Now, keys: map[string]counter{}}
}

// live returns key's counter in its current window.
func (m *Throttle) live(key string, now time.Time) (counter, bool) {
	c, ok := m.keys[key]
	if !ok || !now.Before(c.end) {
		return counter{}, false
	}
	return c, true
}

// Reserve counts one attempt against every quota, or none when one is
// used up.
func (m *Throttle) Reserve(_ context.Context, qs ...auth.Quota) (auth.Reservation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	r := auth.Reservation{Refused: -1}
	for i, q := range qs {
		if q.Limit <= 0 || q.Window <= 0 {
			return auth.Reservation{}, fmt.Errorf("authtest: quota %q needs a positive limit and window", q.Key)
		}
		if c, ok := m.live(q.Key, now); ok && c.n >= q.Limit {
			if wait := c.end.Sub(now); wait > r.RetryAfter {
				r = auth.Reservation{Refused: i, RetryAfter: wait}
			}
		}
	}
	if r.Refused >= 0 {
		return r, nil
	}
	for _, q := range qs {
		c, ok := m.live(q.Key, now)
		if !ok {
			c = counter{end: now.Add(q.Window)}
		}
		c.n++
		m.keys[q.Key] = c
	}
	return r, nil
}

// Release gives back one attempt of each refund key and forgets the
// forget keys.
func (m *Throttle) Release(_ context.Context, refund, forget []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for _, k := range refund {
		if c, ok := m.live(k, now); ok && c.n > 0 {
			c.n--
			m.keys[k] = c
		}
	}
	for _, k := range forget {
		delete(m.keys, k)
	}
	return nil
}
