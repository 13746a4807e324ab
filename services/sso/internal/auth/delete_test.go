package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/user"
)

func TestDeleteAccountNeedsThePasswordAndCountsFailuresAsLogins(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	reg := f.register(t, "ada@example.com", "correct horse")
	del := auth.AccountDeletion{AccessToken: reg.AccessToken, Password: "wrong one!", ClientIP: "10.0.0.1"}
	if err := f.svc.DeleteAccount(ctx, del); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v, want ErrInvalidCredentials", err)
	}
	if _, err := f.users.ByID(ctx, reg.UserID); err != nil {
		t.Fatalf("a wrong password deleted the account: %v", err)
	}
	var inv *auth.InvalidArgumentError
	if err := f.svc.DeleteAccount(ctx, auth.AccountDeletion{AccessToken: reg.AccessToken}); !errors.As(err, &inv) || inv.Field != "password" {
		t.Fatalf("no password: %v, want invalid password", err)
	}
	for range testLimits.LoginAccountAddress - 1 {
		_ = f.svc.DeleteAccount(ctx, del)
	}
	// The login limits are used up for this account and address: even
	// the right password is refused now, by login and deletion alike.
	var th *auth.ThrottledError
	del.Password = "correct horse"
	if err := f.svc.DeleteAccount(ctx, del); !errors.As(err, &th) || !th.Login() {
		t.Fatalf("after %d failures: %v, want a login throttle", testLimits.LoginAccountAddress, err)
	}
	if _, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse", ClientIP: "10.0.0.1"}); !errors.As(err, &th) {
		t.Fatalf("login after the deletion attempts: %v, want throttled", err)
	}
}

func TestDeleteAccountEndsEverythingAndFreesTheAddress(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	reg := f.register(t, "ada@example.com", "correct horse")
	other, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteAccount(ctx, auth.AccountDeletion{AccessToken: reg.AccessToken, Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	for _, access := range []string{reg.AccessToken, other.AccessToken} {
		if v, err := f.svc.Validate(ctx, access); err != nil || v.Valid {
			t.Fatalf("Validate after deletion = %+v, %v; want invalid", v, err)
		}
	}
	for _, refresh := range []string{reg.RefreshToken, other.RefreshToken} {
		if _, err := f.svc.Refresh(ctx, refresh); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("Refresh after deletion = %v, want ErrInvalidToken", err)
		}
	}
	if _, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("login after deletion = %v, want ErrInvalidCredentials", err)
	}
	events := f.users.Events()
	if len(events) != 1 || events[0].Kind != user.EventUserDeleted || events[0].UserID != reg.UserID || events[0].Email != "" {
		t.Fatalf("events = %+v, want only UserDeleted, without the address", events)
	}
	again := f.register(t, "ada@example.com", "battery staple")
	if again.UserID == reg.UserID {
		t.Fatal("the address registered again under the deleted id")
	}
	// An administrator's deletion of a user already gone.
	if err := f.svc.DeleteUser(ctx, reg.UserID, audit.Self(again.UserID)); !errors.Is(err, user.ErrNotFound) {
		t.Fatalf("DeleteUser of a deleted user = %v, want ErrNotFound", err)
	}
}
