package authtest

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// Directory is the in-memory auth.Directory over the users of a Users.
type Directory struct{ *Users }

var _ auth.Directory = Directory{}

// List returns the users matching q in (CreatedAt, ID) order.
func (d Directory) List(_ context.Context, q auth.UserQuery) ([]user.User, error) {
	d.mu.Lock()
	var out []user.User
	for _, u := range d.byEmail {
		switch {
		case !strings.HasPrefix(u.Email, q.EmailPrefix),
			!q.CreatedAfter.IsZero() && !u.CreatedAt.After(q.CreatedAfter),
			!q.CreatedBefore.IsZero() && !u.CreatedAt.Before(q.CreatedBefore),
			q.After != nil && (u.CreatedAt.Before(q.After.CreatedAt) || u.CreatedAt.Equal(q.After.CreatedAt) && u.ID <= q.After.ID):
			continue
		}
		out = append(out, u)
	}
	d.mu.Unlock()
	slices.SortFunc(out, func(a, b user.User) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out[:min(len(out), q.Limit)], nil
}

// SetDisabled disables or enables a user, or returns user.ErrNotFound.
func (d Directory) SetDisabled(_ context.Context, id string, disabled bool, by audit.Actor) error {
	if !d.update(id, func(u *user.User) bool { u.Disabled = disabled; return true }) {
		return user.ErrNotFound
	}
	action := audit.ActionUserEnabled
	if disabled {
		action = audit.ActionUserDisabled
	}
	d.audited(audit.Entry{Actor: by, Action: action, TargetID: id})
	return nil
}

// SetAdmin grants or revokes a user's role, or returns user.ErrNotFound.
func (d Directory) SetAdmin(_ context.Context, id string, admin bool, by audit.Actor) error {
	if !d.update(id, func(u *user.User) bool { u.IsAdmin = admin; return true }) {
		return user.ErrNotFound
	}
	action := audit.ActionRoleRevoked
	if admin {
		action = audit.ActionRoleGranted
	}
	d.audited(audit.Entry{Actor: by, Action: action, TargetID: id})
	return nil
}
