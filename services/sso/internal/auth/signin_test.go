package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/auth/authtest"
	"github.com/ssokit/platform/services/sso/internal/user"
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

// A hosted sign-up is Register with a browser session: the same account,
// verification mail, refusals and per-address throttle, and a session
// that lives without handing out tokens.
func TestSignUpRegistersAndOpensASession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in, err := f.svc.SignUp(ctx, auth.Registration{Email: "Ada@Example.com", Password: "correct horse", FullName: " Ada ", ClientIP: "10.0.0.7"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.users.ByEmail(ctx, "ada@example.com")
	if err != nil || u.ID != in.UserID || u.FullName != "Ada" || u.EmailVerified {
		t.Fatalf("account = %+v, %v; want the new unverified account %s", u, err, in.UserID)
	}
	if events := f.users.Events(); len(events) != 1 || events[0].Kind != user.EventEmailVerificationRequested {
		t.Fatalf("events = %+v; want one verification request", events)
	}
	if live, err := f.svc.SessionLive(ctx, in.SessionID); err != nil || !live || in.AuthTime.IsZero() {
		t.Fatalf("SignUp = %+v, live %v, %v; want a live session", in, live, err)
	}
	// Taken, whatever the case: the API's 409.
	if _, err := f.svc.SignUp(ctx, auth.Registration{Email: "ADA@example.com", Password: "another horse", ClientIP: "10.0.0.8"}); !errors.Is(err, user.ErrEmailTaken) {
		t.Fatalf("SignUp(taken) = %v, want ErrEmailTaken", err)
	}
	var inv *auth.InvalidArgumentError
	if _, err := f.svc.SignUp(ctx, auth.Registration{Email: "bob@example.com", Password: "short", ClientIP: "10.0.0.8"}); !errors.As(err, &inv) || inv.Field != "password" {
		t.Fatalf("SignUp(short password) = %v, want the policy's refusal", err)
	}
	// The taken address counted on 10.0.0.8, as Register counts it; the
	// API's registration from there is refused too once the quota is spent.
	if _, err := f.svc.SignUp(ctx, auth.Registration{Email: "bob@example.com", Password: "correct horse", ClientIP: "10.0.0.8"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Register(ctx, auth.Registration{Email: "eve@example.com", Password: "correct horse", ClientIP: "10.0.0.8"})
	throttled(t, err, "register")
}
