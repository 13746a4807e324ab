package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/auth/authtest"
)

// A hosted sign-in opens a session of its own that lives until it is
// ended, refuses like Login, and counts against the same throttle.
func TestSignInOpensALiveSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg := f.register(t, "ada@example.com", "correct horse")

	in, err := f.svc.SignIn(ctx, auth.Credentials{Email: "ADA@example.com", Password: "correct horse", ClientIP: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if in.UserID != reg.UserID || in.SessionID == "" || in.AuthTime.IsZero() {
		t.Fatalf("SignIn = %+v; want a session of user %s", in, reg.UserID)
	}
	if live, err := f.svc.SessionLive(ctx, in.SessionID); err != nil || !live {
		t.Fatalf("SessionLive(new session) = %v, %v; want true", live, err)
	}
	views, err := f.svc.ListSessions(ctx, reg.AccessToken)
	if err != nil || len(views) != 2 {
		t.Fatalf("ListSessions = %d sessions, %v; want the registration's and the sign-in's", len(views), err)
	}
	if err := f.sessions.Revoke(ctx, in.SessionID); err != nil {
		t.Fatal(err)
	}
	if live, err := f.svc.SessionLive(ctx, in.SessionID); err != nil || live {
		t.Fatalf("SessionLive(ended session) = %v, %v; want false", live, err)
	}
	if live, err := f.svc.SessionLive(ctx, ""); err != nil || live {
		t.Fatalf("SessionLive(\"\") = %v, %v; want false", live, err)
	}
}

func TestSignInRefusesLikeLogin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg := f.register(t, "ada@example.com", "correct horse")
	for _, c := range []auth.Credentials{
		{Email: "nobody@example.com", Password: "correct horse"},
		{Email: "ada@example.com", Password: "wrong horse"},
	} {
		if _, err := f.svc.SignIn(ctx, c); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("SignIn(%s): err = %v, want ErrInvalidCredentials", c.Email, err)
		}
	}
	if err := (authtest.Directory{Users: f.users}).SetDisabled(ctx, reg.UserID, true, audit.Anonymous()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SignIn(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("SignIn(disabled account): err = %v, want ErrInvalidCredentials", err)
	}
}

func TestSignInShareLoginsThrottle(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	ctx := context.Background()
	var err error
	for range testLimits.LoginAccountAddress + 1 {
		_, err = f.svc.SignIn(ctx, auth.Credentials{Email: "ada@example.com", Password: "wrong horse", ClientIP: "10.0.0.9"})
	}
	throttled(t, err, "login")
	// The API's login from the same address is refused too.
	throttled(t, f.login("ada@example.com", "correct horse", "10.0.0.9"), "login")
}
