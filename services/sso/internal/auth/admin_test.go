package auth_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/auth/authtest"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// adminFixture has an administrator (its token is admin) and a plain user
// with a live login.
func adminFixture(t *testing.T) (f *fixture, admin, plain auth.Tokens) {
	t.Helper()
	f = newFixture(t)
	a := f.register(t, "root@example.com", "correct horse")
	f.users.SetAdmin(a.UserID, true)
	ctx := context.Background()
	admin, err := f.svc.Login(ctx, auth.Credentials{Email: "root@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	f.register(t, "ada@example.com", "correct horse")
	plain, err = f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	return f, admin, plain
}

func TestAdminCallsRefuseNonAdministratorsFirst(t *testing.T) {
	f, _, plain := adminFixture(t)
	ctx := context.Background()
	for _, id := range []string{plain.UserID, "not-a-uuid", "00000000-0000-4000-8000-000000000000"} {
		calls := map[string]func(tok string) error{
			"ListUsers": func(tok string) error {
				_, err := f.svc.ListUsers(ctx, tok, auth.ListUsersRequest{PageToken: "garbage"})
				return err
			},
			"GetUser":     func(tok string) error { _, err := f.svc.GetUser(ctx, tok, id); return err },
			"DisableUser": func(tok string) error { _, err := f.svc.DisableUser(ctx, tok, id); return err },
			"EnableUser":  func(tok string) error { _, err := f.svc.EnableUser(ctx, tok, id); return err },
			"Grant":       func(tok string) error { _, err := f.svc.SetAdminRole(ctx, tok, id, true); return err },
			"Revoke":      func(tok string) error { _, err := f.svc.SetAdminRole(ctx, tok, id, false); return err },
			"EndSessions": func(tok string) error { _, err := f.svc.EndUserSessionsAsAdmin(ctx, tok, id); return err },
		}
		for name, call := range calls {
			if err := call(plain.AccessToken); !errors.Is(err, auth.ErrForbidden) {
				t.Errorf("%s(%s) as a plain user: %v, want ErrForbidden", name, id, err)
			}
			if err := call(""); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("%s(%s) without a token: %v, want ErrUnauthenticated", name, id, err)
			}
		}
	}
	if u, _ := f.users.ByID(ctx, plain.UserID); u.Disabled || u.IsAdmin {
		t.Errorf("the refused calls changed the user: %+v", u)
	}
}

func TestAdminDisableRefusesLoginRefreshAndLiveTokens(t *testing.T) {
	f, admin, plain := adminFixture(t)
	ctx := context.Background()
	u, err := f.svc.DisableUser(ctx, admin.AccessToken, plain.UserID)
	if err != nil || !u.Disabled {
		t.Fatalf("DisableUser = %+v, %v", u, err)
	}
	if v, err := f.svc.Validate(ctx, plain.AccessToken); err != nil || v.Valid {
		t.Errorf("Validate of the live token = %+v, %v; want invalid", v, err)
	}
	if _, err := f.svc.Refresh(ctx, plain.RefreshToken); err == nil {
		t.Error("Refresh of a disabled user's token succeeded")
	}
	if _, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("Login of a disabled user: %v, want ErrInvalidCredentials", err)
	}
	if _, err := f.svc.EnableUser(ctx, admin.AccessToken, plain.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Errorf("Login after enable: %v", err)
	}
}

// A session that escaped the revocation (its family rotated while the
// flag was written) still cannot refresh a disabled account.
func TestRefreshRefusesADisabledUser(t *testing.T) {
	f, _, plain := adminFixture(t)
	ctx := context.Background()
	if err := (authtest.Directory{Users: f.users}).SetDisabled(ctx, plain.UserID, true, audit.Anonymous()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Refresh(ctx, plain.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Refresh: %v, want ErrInvalidToken", err)
	}
}

func TestAdminRoleRevocationEndsSessionsAndNotOnOneself(t *testing.T) {
	f, admin, plain := adminFixture(t)
	ctx := context.Background()
	if _, err := f.svc.SetAdminRole(ctx, admin.AccessToken, plain.UserID, true); err != nil {
		t.Fatal(err)
	}
	second, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ListUsers(ctx, second.AccessToken, auth.ListUsersRequest{}); err != nil {
		t.Fatalf("the new admin lists: %v", err)
	}
	if _, err := f.svc.SetAdminRole(ctx, admin.AccessToken, plain.UserID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ListUsers(ctx, second.AccessToken, auth.ListUsersRequest{}); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("the demoted admin's token: %v, want ErrInvalidToken", err)
	}
	for name, err := range map[string]error{
		"disable": func() error { _, err := f.svc.DisableUser(ctx, admin.AccessToken, admin.UserID); return err }(),
		"revoke":  func() error { _, err := f.svc.SetAdminRole(ctx, admin.AccessToken, admin.UserID, false); return err }(),
	} {
		if !errors.Is(err, auth.ErrSelfAdmin) {
			t.Errorf("%s oneself: %v, want ErrSelfAdmin", name, err)
		}
	}
	if _, err := f.svc.GetUser(ctx, admin.AccessToken, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("GetUser(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := f.svc.EndUserSessionsAsAdmin(ctx, admin.AccessToken, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("EndUserSessionsAsAdmin(unknown) = %v, want ErrNotFound", err)
	}
}

func TestListUsersPagesEveryUserOnce(t *testing.T) {
	f, admin, _ := adminFixture(t)
	ctx := context.Background()
	for i := range 9 {
		f.register(t, "u"+strconv.Itoa(i)+"@example.com", "correct horse")
	}
	seen := map[string]bool{}
	var req auth.ListUsersRequest
	req.PageSize = 4
	pages := 0
	for {
		page, err := f.svc.ListUsers(ctx, admin.AccessToken, req)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range page.Users {
			if seen[u.ID] {
				t.Errorf("%s listed twice", u.Email)
			}
			seen[u.ID] = true
		}
		if page.NextPageToken == "" {
			break
		}
		req.PageToken = page.NextPageToken
	}
	if len(seen) != 11 || pages != 3 {
		t.Errorf("%d users in %d pages, want 11 in 3", len(seen), pages)
	}
	page, err := f.svc.ListUsers(ctx, admin.AccessToken, auth.ListUsersRequest{EmailPrefix: " U1"})
	if err != nil || len(page.Users) != 1 || page.Users[0].Email != "u1@example.com" {
		t.Errorf("prefix U1 = %+v, %v; want u1 only", page.Users, err)
	}
	for name, r := range map[string]auth.ListUsersRequest{
		"page size":    {PageSize: auth.MaxPageSize + 1},
		"blank prefix": {EmailPrefix: "  "},
		"bad token":    {PageToken: "bm9wZQ"},
		"inverted":     {CreatedAfter: page.Users[0].CreatedAt, CreatedBefore: page.Users[0].CreatedAt},
	} {
		var inv *auth.InvalidArgumentError
		if _, err := f.svc.ListUsers(ctx, admin.AccessToken, r); !errors.As(err, &inv) {
			t.Errorf("%s: %v, want InvalidArgumentError", name, err)
		}
	}
}
