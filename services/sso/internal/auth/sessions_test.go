package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/auth/authtest"
	"github.com/ssokit/platform/services/sso/internal/token"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// Every access token names the refresh-token family it was issued from:
// a refresh keeps the family, a new login opens another.
func TestAccessTokensNameTheirSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg := f.register(t, "ada@example.com", "correct horse")
	first, err := f.svc.Authenticate(ctx, reg.AccessToken)
	if err != nil || first.SessionID == "" {
		t.Fatalf("Authenticate(registration token) = %+v, %v; want a session id", first, err)
	}
	next, err := f.svc.Refresh(ctx, reg.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := f.svc.Authenticate(ctx, next.AccessToken); err != nil || c.SessionID != first.SessionID {
		t.Errorf("Authenticate(refreshed token) = %+v, %v; want session %s", c, err, first.SessionID)
	}
	login, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := f.svc.Authenticate(ctx, login.AccessToken); err != nil || c.SessionID == "" || c.SessionID == first.SessionID {
		t.Errorf("Authenticate(login token) = %+v, %v; want a session other than %s", c, err, first.SessionID)
	}
}

// An access token that names no session predates sessions: nothing could
// revoke it with its user's sessions, so it is refused.
func TestAccessTokenWithoutSessionRefused(t *testing.T) {
	f := newFixture(t)
	reg := f.register(t, "ada@example.com", "correct horse")
	c, err := f.svc.Authenticate(context.Background(), reg.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := f.signer.Issue(token.Claims{Subject: c.Subject, Email: c.Email})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(context.Background(), raw); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Authenticate(token without sid): err = %v, want ErrInvalidToken", err)
	}
	if v, err := f.svc.Validate(context.Background(), raw); err != nil || v.Valid {
		t.Errorf("Validate(token without sid) = %+v, %v; want not valid", v, err)
	}
}

// RevokeUser ends every session of the user at once: refresh tokens and
// the access tokens issued from them, whatever their age.
func TestRevokeUserEndsEveryTokenOfTheUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg := f.register(t, "ada@example.com", "correct horse")
	login, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	bob := f.register(t, "bob@example.com", "correct horse")

	if n, err := f.sessions.RevokeUser(ctx, reg.UserID); err != nil || n != 2 {
		t.Fatalf("RevokeUser = %d, %v; want 2", n, err)
	}
	for name, tok := range map[string]auth.Tokens{"registration": reg, "login": login} {
		if v, err := f.svc.Validate(ctx, tok.AccessToken); err != nil || v.Valid {
			t.Errorf("Validate(%s access token) = %+v, %v; want not valid", name, v, err)
		}
		if _, err := f.svc.Me(ctx, tok.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Me(%s access token): err = %v, want ErrInvalidToken", name, err)
		}
		if _, err := f.svc.Refresh(ctx, tok.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Refresh(%s refresh token): err = %v, want ErrInvalidToken", name, err)
		}
	}
	if v, err := f.svc.Validate(ctx, bob.AccessToken); err != nil || !v.Valid {
		t.Errorf("Validate(another user's token) = %+v, %v; want valid", v, err)
	}
	again, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatalf("Login after RevokeUser: %v", err)
	}
	if v, err := f.svc.Validate(ctx, again.AccessToken); err != nil || !v.Valid {
		t.Errorf("Validate(token of a login after RevokeUser) = %+v, %v; want valid", v, err)
	}
}

// revokingUsers ends the user's sessions right after a login has read the
// password hash, as a password reset landing mid-login would.
type revokingUsers struct {
	*authtest.Users
	revoke func(userID string)
}

func (u revokingUsers) ByEmail(ctx context.Context, email string) (user.User, error) {
	got, err := u.Users.ByEmail(ctx, email)
	if err == nil {
		u.revoke(got.ID)
	}
	return got, err
}

// CurrentByEmail is where logins read the account.
func (u revokingUsers) CurrentByEmail(ctx context.Context, email string) (user.User, error) {
	return u.ByEmail(ctx, email)
}

// A login in flight while the user's sessions are ended must not leave a
// session behind: the password it checked may be the one just replaced.
func TestLoginRacingRevokeUserStartsNoSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg := f.register(t, "ada@example.com", "correct horse")
	revoked := 0
	f.build(t, revokingUsers{Users: f.users, revoke: func(id string) {
		if _, err := f.sessions.RevokeUser(ctx, id); err != nil {
			t.Error(err)
		}
		revoked++
	}})
	_, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"})
	if !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("Login racing RevokeUser: err = %v, want ErrInvalidCredentials", err)
	}
	if revoked != 1 {
		t.Fatalf("RevokeUser ran %d times during the login, want 1", revoked)
	}
	if v, err := f.svc.Validate(ctx, reg.AccessToken); err != nil || v.Valid {
		t.Errorf("Validate(token from before) = %+v, %v; want not valid", v, err)
	}
}
