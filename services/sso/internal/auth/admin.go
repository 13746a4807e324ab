package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/token"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// Directory is what the admin use cases need beyond Users and Accounts:
// listing accounts and changing what only an administrator changes. Writes
// go to the primary.
type Directory interface {
	// List returns up to q.Limit users matching q, in (CreatedAt, ID)
	// order, after q.After when it is set. It may read a replica.
	List(ctx context.Context, q UserQuery) ([]user.User, error)
	// SetDisabled disables or enables the user with the id, with the
	// audit entry of the change by by, atomically, or returns
	// user.ErrNotFound.
	SetDisabled(ctx context.Context, id string, disabled bool, by audit.Actor) error
	// SetAdmin grants or revokes the administrator role of the user with
	// the id, with the audit entry of the change by by, atomically, or
	// returns user.ErrNotFound.
	SetAdmin(ctx context.Context, id string, admin bool, by audit.Actor) error
}

// UserQuery selects users for Directory.List. Zero fields do not filter.
type UserQuery struct {
	// EmailPrefix matches normalized e-mails that start with it.
	EmailPrefix string
	// CreatedAfter and CreatedBefore bound the creation time, exclusive.
	CreatedAfter, CreatedBefore time.Time
	// After is the last user of the previous page.
	After *PageKey
	Limit int
}

// PageKey is a position in the (CreatedAt, ID) order of the admin listing.
type PageKey struct {
	CreatedAt time.Time
	ID        string
}

// Page sizes of ListUsers.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
	// maxPrefixLen is the longest e-mail there is (see user.NormalizeEmail).
	maxPrefixLen = 254
)

// Admin actions, as sso_admin_actions_total labels them.
const (
	actionList           = "list"
	actionGet            = "get"
	actionDisable        = "disable"
	actionEnable         = "enable"
	actionGrant          = "grant"
	actionRevoke         = "revoke"
	actionRevokeSessions = "revoke_sessions"
	actionDelete         = "delete"
)

var (
	adminActions  = [...]string{actionList, actionGet, actionDisable, actionEnable, actionGrant, actionRevoke, actionRevokeSessions, actionDelete, actionAudit}
	adminOutcomes = [...]string{"success", "forbidden", "unauthenticated", "invalid", "not_found", "refused", "error"}
)

func adminOutcome(err error) string {
	var inv *InvalidArgumentError
	switch {
	case err == nil:
		return "success"
	case errors.Is(err, ErrForbidden):
		return "forbidden"
	case errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrInvalidToken):
		return "unauthenticated"
	case errors.As(err, &inv):
		return "invalid"
	case errors.Is(err, user.ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrSelfAdmin):
		return "refused"
	default:
		return "error"
	}
}

// ListUsersRequest is the admin listing's question.
type ListUsersRequest struct {
	// PageSize is at most MaxPageSize; 0 means DefaultPageSize.
	PageSize int
	// PageToken is the NextPageToken of the previous page, or empty.
	PageToken string
	// EmailPrefix is normalized like a registered address (trimmed,
	// lowercased).
	EmailPrefix string
	// CreatedAfter and CreatedBefore bound the creation time, exclusive;
	// zero does not bound.
	CreatedAfter, CreatedBefore time.Time
}

// UserPage is one page of the admin listing.
type UserPage struct {
	Users []user.User
	// NextPageToken continues the listing; empty on the last page.
	NextPageToken string
}

// UserDetail is one user as an administrator sees it.
type UserDetail struct {
	user.User
	// Sessions is how many sessions of the user are live.
	Sessions int
}

// authorizeAdmin lets only an administrator's token through. It runs before
// anything of the request is looked at, so a non-administrator learns
// nothing about which ids exist. The role is the token's claim: revoking it
// ends the user's sessions (see SetAdminRole), so no live token carries a
// revoked role.
// AuthorizeAdmin refuses a caller that is not an administrator (the
// UNAUTHENTICATED and PERMISSION_DENIED errors of every admin use case),
// for admin use cases of other packages (OpenID Connect clients).
func (s *Service) AuthorizeAdmin(ctx context.Context, accessToken string) error {
	_, err := s.authorizeAdmin(ctx, accessToken)
	return err
}

func (s *Service) authorizeAdmin(ctx context.Context, accessToken string) (token.Claims, error) {
	c, err := s.Authenticate(ctx, accessToken)
	if err != nil {
		return token.Claims{}, err
	}
	if !c.Admin {
		return token.Claims{}, ErrForbidden
	}
	if s.directory == nil {
		return token.Claims{}, errors.New("admin use cases need a Directory")
	}
	return c, nil
}

// ListUsers returns one page of users, oldest first, for an administrator.
func (s *Service) ListUsers(ctx context.Context, accessToken string, r ListUsersRequest) (page UserPage, err error) {
	defer func() { s.metrics.adminAction(actionList, err) }()
	if _, err := s.authorizeAdmin(ctx, accessToken); err != nil {
		return UserPage{}, err
	}
	q, err := r.query()
	if err != nil {
		return UserPage{}, err
	}
	// One more than the page: whether it exists says if a next page does.
	q.Limit++
	users, err := s.directory.List(ctx, q)
	if err != nil {
		return UserPage{}, fmt.Errorf("list users: %w", err)
	}
	if len(users) < q.Limit {
		return UserPage{Users: users}, nil
	}
	users = users[:q.Limit-1]
	last := users[len(users)-1]
	return UserPage{Users: users, NextPageToken: encodePageKey(PageKey{CreatedAt: last.CreatedAt, ID: last.ID})}, nil
}

func (r ListUsersRequest) query() (UserQuery, error) {
	q := UserQuery{Limit: r.PageSize, CreatedAfter: r.CreatedAfter, CreatedBefore: r.CreatedBefore}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultPageSize
	case q.Limit < 0 || q.Limit > MaxPageSize:
		return UserQuery{}, invalid("page_size", fmt.Sprintf("page_size must be between 1 and %d", MaxPageSize))
	}
	if r.EmailPrefix != "" {
		p := strings.ToLower(strings.TrimSpace(r.EmailPrefix))
		switch {
		case p == "":
			return UserQuery{}, invalid("email_prefix", "email_prefix must have at least one character")
		case len(p) > maxPrefixLen:
			return UserQuery{}, invalid("email_prefix", "email_prefix is longer than any e-mail address")
		case strings.IndexFunc(p, func(c rune) bool { return c <= ' ' || c >= 0x7f }) >= 0:
			return UserQuery{}, invalid("email_prefix", "email_prefix may hold only printable ASCII, as e-mail addresses do")
		}
		q.EmailPrefix = p
	}
	if !q.CreatedAfter.IsZero() && !q.CreatedBefore.IsZero() && !q.CreatedAfter.Before(q.CreatedBefore) {
		return UserQuery{}, invalid("created_before", "created_before must be after created_after")
	}
	if r.PageToken != "" {
		k, err := decodePageKey(r.PageToken)
		if err != nil {
			return UserQuery{}, invalid("page_token", "page_token is not one this listing gave")
		}
		q.After = &k
	}
	return q, nil
}

// A page token is the last user's creation time (microseconds, as stored)
// and id: the listing continues strictly after them, so a user created
// meanwhile neither shifts the pages nor appears twice. It is opaque to
// clients, not secret: it names a user the administrator has seen.
func encodePageKey(k PageKey) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.CreatedAt.UnixMicro(), 10) + "." + k.ID))
}

func decodePageKey(s string) (PageKey, error) {
	if len(s) > 128 {
		return PageKey{}, errors.New("page token too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return PageKey{}, err
	}
	micros, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return PageKey{}, errors.New("malformed page token")
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return PageKey{}, err
	}
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return PageKey{}, errors.New("malformed page token id")
	}
	return PageKey{CreatedAt: time.UnixMicro(us).UTC(), ID: id}, nil
}

// GetUser returns one user, with its live session count, to an
// administrator.
func (s *Service) GetUser(ctx context.Context, accessToken, userID string) (d UserDetail, err error) {
	defer func() { s.metrics.adminAction(actionGet, err) }()
	if _, err := s.authorizeAdmin(ctx, accessToken); err != nil {
		return UserDetail{}, err
	}
	id, err := parseUserID(userID)
	if err != nil {
		return UserDetail{}, err
	}
	// From the primary: an administrator who just changed the user must
	// see the change, whatever the replica's lag. The listing, which
	// scans, reads the replica.
	u, err := s.accounts.Current(ctx, id)
	if err != nil {
		return UserDetail{}, err
	}
	live, err := s.sessions.List(ctx, id)
	if err != nil {
		return UserDetail{}, fmt.Errorf("list sessions: %w", err)
	}
	return UserDetail{User: u, Sessions: len(live)}, nil
}

// DisableUser disables an account: it can no longer log in or refresh,
// and every session it has ends now, with the access tokens issued from
// them. The flag is written first, so a login that races the revocation
// either sees it or starts a session that RevokeUser ends. An
// administrator cannot disable itself (ErrSelfAdmin).
func (s *Service) DisableUser(ctx context.Context, accessToken, userID string) (u user.User, err error) {
	defer func() { s.metrics.adminAction(actionDisable, err) }()
	return s.adminChange(ctx, accessToken, userID, true, func(by audit.Actor, id string) error {
		if err := s.directory.SetDisabled(ctx, id, true, by); err != nil {
			return err
		}
		_, err := s.endUserSessions(ctx, id, ReasonAdmin)
		return err
	})
}

// EnableUser lets a disabled account log in again; its ended sessions
// stay ended.
func (s *Service) EnableUser(ctx context.Context, accessToken, userID string) (u user.User, err error) {
	defer func() { s.metrics.adminAction(actionEnable, err) }()
	return s.adminChange(ctx, accessToken, userID, false, func(by audit.Actor, id string) error {
		return s.directory.SetDisabled(ctx, id, false, by)
	})
}

// SetAdminRole grants or revokes the administrator role. Access tokens
// carry the role, so a revocation also ends the user's sessions: otherwise
// its tokens would stay administrator's until they expire. A grant ends
// nothing: the role reaches the user's tokens at its next refresh or
// login. An administrator cannot revoke its own role (ErrSelfAdmin), so
// the last one cannot lock everyone out by mistake.
func (s *Service) SetAdminRole(ctx context.Context, accessToken, userID string, admin bool) (u user.User, err error) {
	action := actionGrant
	if !admin {
		action = actionRevoke
	}
	defer func() { s.metrics.adminAction(action, err) }()
	return s.adminChange(ctx, accessToken, userID, !admin, func(by audit.Actor, id string) error {
		if err := s.directory.SetAdmin(ctx, id, admin, by); err != nil {
			return err
		}
		if !admin {
			_, err := s.endUserSessions(ctx, id, ReasonAdmin)
			return err
		}
		return nil
	})
}

// EndUserSessionsAsAdmin ends every session of a user for an
// administrator, and returns how many were live.
func (s *Service) EndUserSessionsAsAdmin(ctx context.Context, accessToken, userID string) (n int, err error) {
	defer func() { s.metrics.adminAction(actionRevokeSessions, err) }()
	c, err := s.authorizeAdmin(ctx, accessToken)
	if err != nil {
		return 0, err
	}
	id, err := parseUserID(userID)
	if err != nil {
		return 0, err
	}
	// An id with no account is NOT_FOUND, not "0 sessions ended".
	if _, err := s.accounts.Current(ctx, id); err != nil {
		return 0, err
	}
	n, err = s.endUserSessions(ctx, id, ReasonAdmin)
	if err != nil {
		return 0, err
	}
	// Redis has no transaction with the outbox: the sessions are ended
	// first, so an entry never records what did not happen, and an entry
	// that cannot be stored fails the call for the administrator to retry
	// (ending sessions again is harmless).
	if err := s.recordAudit(ctx, audit.Entry{Actor: audit.Admin(c.Subject), Action: audit.ActionSessionsRevoked, TargetID: id}); err != nil {
		return 0, err
	}
	return n, nil
}

// DeleteUserAsAdmin deletes another user's account (see DeleteUser),
// recorded as the administrator's doing. An administrator deletes its own
// account through DeleteAccount, with its password (ErrSelfAdmin here).
func (s *Service) DeleteUserAsAdmin(ctx context.Context, accessToken, userID string) (err error) {
	defer func() { s.metrics.adminAction(actionDelete, err) }()
	c, err := s.authorizeAdmin(ctx, accessToken)
	if err != nil {
		return err
	}
	id, err := parseUserID(userID)
	if err != nil {
		return err
	}
	if id == c.Subject {
		return ErrSelfAdmin
	}
	return s.DeleteUser(ctx, id, audit.Admin(c.Subject))
}

// adminChange authorizes an administrator, refuses a change on itself when
// notSelf, applies change and returns the user as changed, from the
// primary.
func (s *Service) adminChange(ctx context.Context, accessToken, userID string, notSelf bool, change func(by audit.Actor, id string) error) (user.User, error) {
	c, err := s.authorizeAdmin(ctx, accessToken)
	if err != nil {
		return user.User{}, err
	}
	id, err := parseUserID(userID)
	if err != nil {
		return user.User{}, err
	}
	if notSelf && id == c.Subject {
		return user.User{}, ErrSelfAdmin
	}
	if err := change(audit.Admin(c.Subject), id); err != nil {
		return user.User{}, err
	}
	return s.accounts.Current(ctx, id)
}

// parseUserID returns the canonical form of a user id, or an invalid
// argument.
func parseUserID(s string) (string, error) {
	id, err := uuid.Parse(s)
	if err != nil || len(s) != len(id.String()) {
		return "", invalid("user_id", "user_id must be a UUID")
	}
	return id.String(), nil
}
