package authtest

import (
	"context"
	"sync"
	"time"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/user"
)

var _ auth.Accounts = (*Users)(nil)

// oneTime is a stored one-time token.
type oneTime struct {
	t    user.OneTimeToken
	used bool
}

// accountState is the account life cycle part of Users.
type accountState struct {
	mu     sync.Mutex
	tokens map[string]*oneTime // by hash
	events []user.AccountEvent
}

func (m *Users) state() *accountState {
	m.accountOnce.Do(func() { m.account = &accountState{tokens: map[string]*oneTime{}} })
	return m.account
}

// Events returns the account events stored so far, oldest first; their
// tokens keep Raw, as the event builder sees them before sealing.
func (m *Users) Events() []user.AccountEvent {
	a := m.state()
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]user.AccountEvent(nil), a.events...)
}

// Current is ByID: the fake has no replica.
func (m *Users) Current(ctx context.Context, id string) (user.User, error) { return m.ByID(ctx, id) }

// CurrentByEmail is ByEmail: the fake has no replica.
func (m *Users) CurrentByEmail(ctx context.Context, email string) (user.User, error) {
	return m.ByEmail(ctx, email)
}

// CreateWithToken is Create plus the token and its event.
func (m *Users) CreateWithToken(ctx context.Context, u user.User, t user.OneTimeToken) error {
	if err := m.Create(ctx, u); err != nil {
		return err
	}
	t.UserID = u.ID
	m.store(u, t)
	return nil
}

// IssueToken supersedes the user's unused tokens of t.Purpose and stores t.
func (m *Users) IssueToken(_ context.Context, u user.User, t user.OneTimeToken) error {
	t.UserID = u.ID
	a := m.state()
	a.mu.Lock()
	for _, o := range a.tokens {
		if o.t.UserID == u.ID && o.t.Purpose == t.Purpose {
			o.used = true
		}
	}
	a.mu.Unlock()
	m.store(u, t)
	return nil
}

func (m *Users) store(u user.User, t user.OneTimeToken) {
	kind := user.EventEmailVerificationRequested
	if t.Purpose == user.PurposePasswordReset {
		kind = user.EventPasswordResetRequested
	}
	a := m.state()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[t.Hash] = &oneTime{t: t}
	a.events = append(a.events, user.AccountEvent{Kind: kind, UserID: u.ID, Email: u.Email, Token: &t})
}

// usable returns the usable token of purpose that hashes to hash; the
// caller holds a.mu.
func (a *accountState) usable(hash string, purpose user.Purpose) (*oneTime, bool) {
	o, ok := a.tokens[hash]
	if !ok || o.used || o.t.Purpose != purpose || !time.Now().Before(o.t.ExpiresAt) {
		return nil, false
	}
	return o, true
}

// TokenUser returns the user of a usable token, or user.ErrTokenInvalid.
func (m *Users) TokenUser(_ context.Context, hash string, purpose user.Purpose) (string, error) {
	a := m.state()
	a.mu.Lock()
	defer a.mu.Unlock()
	o, ok := a.usable(hash, purpose)
	if !ok {
		return "", user.ErrTokenInvalid
	}
	return o.t.UserID, nil
}

// Expire makes every token of the user expired, as time would.
func (m *Users) Expire(userID string) {
	a := m.state()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, o := range a.tokens {
		if o.t.UserID == userID {
			o.t.ExpiresAt = time.Now().Add(-time.Second)
		}
	}
}

// update applies fn to the user with the id under the users' lock.
func (m *Users) update(id string, fn func(*user.User) bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for e, u := range m.byEmail {
		if u.ID == id {
			ok := fn(&u)
			m.byEmail[e] = u
			return ok
		}
	}
	return false
}

// VerifyEmail uses up a verification token and marks its user verified.
func (m *Users) VerifyEmail(_ context.Context, hash string) (string, error) {
	a := m.state()
	a.mu.Lock()
	defer a.mu.Unlock()
	o, ok := a.usable(hash, user.PurposeEmailVerification)
	if !ok {
		return "", user.ErrTokenInvalid
	}
	o.used = true
	var email string
	changed := false
	if !m.update(o.t.UserID, func(u *user.User) bool {
		email, changed = u.Email, !u.EmailVerified
		u.EmailVerified = true
		return true
	}) {
		return "", user.ErrTokenInvalid
	}
	if changed {
		a.events = append(a.events, user.AccountEvent{Kind: user.EventEmailVerified, UserID: o.t.UserID, Email: email})
	}
	return o.t.UserID, nil
}

// ResetPassword uses up a reset token and sets its user's hash.
func (m *Users) ResetPassword(_ context.Context, hash, passwordHash string) (string, error) {
	a := m.state()
	a.mu.Lock()
	defer a.mu.Unlock()
	o, ok := a.usable(hash, user.PurposePasswordReset)
	if !ok {
		return "", user.ErrTokenInvalid
	}
	o.used = true
	var email string
	if !m.update(o.t.UserID, func(u *user.User) bool { email, u.PasswordHash = u.Email, passwordHash; return true }) {
		return "", user.ErrTokenInvalid
	}
	a.events = append(a.events, user.AccountEvent{Kind: user.EventPasswordChanged, UserID: o.t.UserID, Email: email, Method: user.PasswordChangeReset})
	m.audited(audit.Entry{Actor: audit.Self(o.t.UserID), Action: audit.ActionPasswordReset, TargetID: o.t.UserID})
	return o.t.UserID, nil
}

// ChangePassword replaces oldHash by newHash, or returns user.ErrNotFound.
func (m *Users) ChangePassword(_ context.Context, id, oldHash, newHash string) error {
	a := m.state()
	a.mu.Lock()
	defer a.mu.Unlock()
	var email string
	if !m.update(id, func(u *user.User) bool {
		if u.PasswordHash != oldHash {
			return false
		}
		email, u.PasswordHash = u.Email, newHash
		return true
	}) {
		return user.ErrNotFound
	}
	a.events = append(a.events, user.AccountEvent{Kind: user.EventPasswordChanged, UserID: id, Email: email, Method: user.PasswordChangeByUser})
	m.audited(audit.Entry{Actor: audit.Self(id), Action: audit.ActionPasswordChanged, TargetID: id})
	return nil
}

// Delete removes the user, its tokens and the events naming it, and
// records a UserDeleted event, as the PostgreSQL store does.
func (m *Users) Delete(_ context.Context, id string, by audit.Actor) error {
	m.mu.Lock()
	found := false
	for email, u := range m.byEmail {
		if u.ID == id {
			delete(m.byEmail, email)
			found = true
		}
	}
	m.mu.Unlock()
	if !found {
		return user.ErrNotFound
	}
	a := m.state()
	a.mu.Lock()
	defer a.mu.Unlock()
	for h, o := range a.tokens {
		if o.t.UserID == id {
			delete(a.tokens, h)
		}
	}
	kept := a.events[:0]
	for _, e := range a.events {
		if e.UserID != id {
			kept = append(kept, e)
		}
	}
	a.events = append(kept, user.AccountEvent{Kind: user.EventUserDeleted, UserID: id})
	m.audited(audit.Entry{Actor: by, Action: audit.ActionUserDeleted, TargetID: id})
	return nil
}
