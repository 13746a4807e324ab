package auth

import (
	"context"
	"time"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/token"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// Users stores accounts. Writes go to the primary; reads may come from a
// replica but must fall back to the primary when the row is not there yet,
// so a user just created is always found.
type Users interface {
	// Create stores u (with its UserRegistered event, atomically).
	// It returns user.ErrEmailTaken when the e-mail is in use.
	Create(ctx context.Context, u user.User) error
	// ByEmail finds a user by normalized e-mail, or user.ErrNotFound.
	ByEmail(ctx context.Context, email string) (user.User, error)
	// ByID finds a user by id, or user.ErrNotFound.
	ByID(ctx context.Context, id string) (user.User, error)
	// SetPasswordHash replaces a user's stored hash (a parameter upgrade).
	SetPasswordHash(ctx context.Context, id, hash string) error
}

// Accounts stores the account life cycle after registration: one-time
// tokens, stored only as hashes (see token.HashRefresh), and the changes
// they authorize. Each write stores the account event announcing it in the
// same transaction, so no change goes unannounced and no mail announces a
// change that did not happen.
type Accounts interface {
	// Current and CurrentByEmail find a user as of its latest committed
	// change, on the primary, or user.ErrNotFound: for decisions a
	// replica's slightly older copy would get wrong (a password or an
	// address state just changed by this very user).
	Current(ctx context.Context, id string) (user.User, error)
	CurrentByEmail(ctx context.Context, email string) (user.User, error)
	// CreateWithToken is Users.Create plus the e-mail verification token
	// t of u and its EmailVerificationRequested event, atomically.
	CreateWithToken(ctx context.Context, u user.User, t user.OneTimeToken) error
	// IssueToken stores t for u, ending u's earlier unused tokens of
	// t.Purpose, with the event that mails it.
	IssueToken(ctx context.Context, u user.User, t user.OneTimeToken) error
	// TokenUser returns the id of the user whose usable token of purpose
	// hashes to hash, without using it up, or user.ErrTokenInvalid.
	TokenUser(ctx context.Context, hash string, purpose user.Purpose) (string, error)
	// VerifyEmail uses up a verification token and marks its user's
	// address verified (an EmailVerified event the first time). It returns
	// the user id, or user.ErrTokenInvalid when the token is unknown,
	// expired, used or superseded.
	VerifyEmail(ctx context.Context, hash string) (string, error)
	// ResetPassword uses up a reset token and sets its user's password
	// hash, with a PasswordChanged event; of concurrent uses of one token
	// exactly one succeeds. It returns the user id, or
	// user.ErrTokenInvalid.
	ResetPassword(ctx context.Context, hash, passwordHash string) (string, error)
	// ChangePassword replaces the user's password hash oldHash by newHash,
	// with a PasswordChanged event; user.ErrNotFound when the user is gone
	// or its hash is no longer oldHash (a concurrent change won).
	ChangePassword(ctx context.Context, userID, oldHash, newHash string) error
	// Delete removes the user and everything of it that names the person
	// (its row, id mapping, one-time tokens and earlier events, delivered
	// or not), with a UserDeleted event, atomically. It returns
	// user.ErrNotFound when the user is already gone.
	Delete(ctx context.Context, userID string, by audit.Actor) error
}

// AuditRecorder stores the audit entry of a security event that changes
// nothing in the database (a refresh-token reuse, sessions ended, a burst
// of failed logins) on its way to the audit log. The changes that do
// change the database write their entries themselves, in their
// transactions (Accounts, Directory).
type AuditRecorder interface {
	Record(ctx context.Context, e audit.Entry) error
}

// AuditLog answers an administrator's questions to the audit log. It may
// read a replica.
type AuditLog interface {
	// List returns up to q.Limit entries matching q, newest first, after
	// q.Before when it is set.
	List(ctx context.Context, q audit.Query) ([]audit.Entry, error)
}

// Session is the state of one refresh-token family: every refresh token
// issued from one login belongs to it.
type Session struct {
	Family string
	UserID string
}

// Origin is where and when a session is opened, as Start records it.
type Origin struct {
	// ClientAddress and UserAgent describe the client, for the user's
	// list of sessions; either may be empty.
	ClientAddress string
	UserAgent     string
	// CheckedAt is when the credentials that open the session were read
	// from the store, before their check. Start refuses the session
	// (ErrSessionsEnded) when RevokeUser ended the user's sessions at or
	// after that moment: the credentials may be the ones the revocation
	// was about (a password just reset). Zero skips the check, for
	// sessions opened by the revoking use case itself.
	CheckedAt time.Time
}

// SessionInfo is a live session as its user sees it.
type SessionInfo struct {
	// Family is the session's id.
	Family string
	// Created is when the login happened; LastUsed when the session last
	// refreshed (Created if never).
	Created  time.Time
	LastUsed time.Time
	// ClientAddress and UserAgent are the Origin the session was opened
	// with.
	ClientAddress string
	UserAgent     string
}

// Lifetime bounds the refresh tokens of a family.
type Lifetime struct {
	// Idle is how long a refresh token stays valid unused: each rotation
	// issues a token that lives this long, so an active session continues.
	Idle time.Duration
	// Absolute is how long a family lives from its start (the login),
	// however often it rotates: no token of the family outlives it, and
	// after it the user has to log in again. A stolen refresh token kept
	// fresh by rotation therefore still dies.
	Absolute time.Duration
}

// Sessions keeps refresh-token families and revoked access tokens, each
// with a TTL so nothing outlives the token it describes.
type Sessions interface {
	// Start opens a new family whose current refresh token hashes to hash;
	// the family's absolute lifetime starts now. It returns
	// ErrSessionsEnded, having opened nothing, when RevokeUser ran for the
	// user at or after o.CheckedAt.
	Start(ctx context.Context, s Session, hash string, l Lifetime, o Origin) error
	// Rotate replaces the family's current token oldHash by newHash and
	// returns the session. newHash lives l.Idle, but never past the
	// family's start plus l.Absolute; a family past that is revoked and
	// returns ErrInvalidToken. Presenting a token of the family that is no
	// longer current revokes the family and returns ErrRefreshReused with
	// the session it ended; an
	// unknown, expired or revoked token returns ErrInvalidToken.
	Rotate(ctx context.Context, oldHash, newHash string, l Lifetime) (Session, error)
	// Find returns the session whose current token hashes to hash, or
	// ErrInvalidToken.
	Find(ctx context.Context, hash string) (Session, error)
	// Revoke ends a family: none of its refresh tokens works again.
	Revoke(ctx context.Context, family string) error
	// RevokeByToken ends the family of the refresh token that hashes to
	// hash, whether that token is the family's current one or one already
	// rotated away (but not yet expired): holding any of them proves the
	// caller had the session. It returns the session it ended, or
	// ErrInvalidToken when the token is unknown or expired or its family
	// had already ended, having changed nothing.
	RevokeByToken(ctx context.Context, hash string) (Session, error)
	// List returns the user's live families, most recently created first.
	List(ctx context.Context, userID string) ([]SessionInfo, error)
	// RevokeOwned ends family, like Revoke, if it is a live family of
	// userID, and reports whether it was; a family of another user is left
	// alone, exactly as an unknown one.
	RevokeOwned(ctx context.Context, userID, family string) (bool, error)
	// RevokeUser ends every family of the user, like Revoke, and returns
	// how many were live. Access tokens of those families are refused from
	// then on (see AccessRevoked), and Start refuses sessions whose
	// credentials were checked before it (see Origin.CheckedAt).
	RevokeUser(ctx context.Context, userID string) (int, error)
	// RevokeAccess marks an access token's jti revoked until it expires.
	RevokeAccess(ctx context.Context, jti string, until time.Time) error
	// AccessRevoked reports whether the access token jti of family is no
	// longer good: the jti was revoked, or the family has ended (revoked,
	// reused, or expired). It is on the path of every authenticated call,
	// so it is one round trip.
	AccessRevoked(ctx context.Context, jti, family string) (bool, error)
}

// Quota is a budget of attempts for one key in a fixed window: the window
// opens with the key's first counted attempt and lasts Window, whatever
// comes later; once Limit attempts are counted in it, the key is refused
// until it ends, and then starts again from zero.
type Quota struct {
	Key    string
	Limit  int
	Window time.Duration
}

// Reservation is the answer of Throttle.Reserve.
type Reservation struct {
	// Refused is the index of the quota that refused the attempt (of
	// those used up, the one whose window ends last), or -1 when the
	// attempt was counted.
	Refused int
	// RetryAfter is how long until the refusing quota's window ends.
	RetryAfter time.Duration
}

// Throttle counts attempts against quotas, shared by every sso replica.
// An attempt is counted before the work it guards (a password hash), not
// after it, so that no number of concurrent attempts gets more work done
// than the quotas allow.
type Throttle interface {
	// Reserve counts one attempt against every quota at once or, when any
	// of them is used up, against none, and says which refused. A quota
	// whose Limit or Window is not positive is an error.
	Reserve(ctx context.Context, qs ...Quota) (Reservation, error)
	// Release takes back attempts Reserve counted that must not count:
	// one attempt from each key of refund (never below zero, its window
	// unchanged), and every attempt of each key of forget. Unknown keys
	// are not an error.
	Release(ctx context.Context, refund, forget []string) error
}

// Hasher hashes and verifies passwords.
type Hasher interface {
	// Hash returns an encoded hash of pw under the current parameters.
	Hash(pw string) (string, error)
	// Verify reports whether pw matches encoded, and whether encoded uses
	// outdated parameters and should be replaced by Hash(pw).
	Verify(pw, encoded string) (ok, rehash bool, err error)
}

// Signer issues and verifies access tokens.
type Signer interface {
	// Issue signs an access token for c, filling its id, issue and expiry
	// times, and returns the token with the completed claims.
	Issue(c token.Claims) (string, token.Claims, error)
	// Verify checks signature, algorithm, issuer and expiry, and returns the
	// claims, or an error wrapping token.ErrInvalid.
	Verify(raw string) (token.Claims, error)
}
