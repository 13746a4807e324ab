package auth_test

import (
	"context"
	"errors"
	"strings"
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

func TestListSessionsMarksTheCurrentOne(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg, err := f.svc.Register(ctx, auth.Registration{Email: "ada@example.com", Password: "correct horse",
		ClientIP: "203.0.113.7", UserAgent: "  e2e-laptop/1.0\t(X11;\nLinux)  "})
	if err != nil {
		t.Fatal(err)
	}
	login, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse",
		ClientIP: "2001:db8::1", UserAgent: strings.Repeat("é", 300)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.ListSessions(ctx, login.AccessToken)
	if err != nil || len(got) != 2 {
		t.Fatalf("ListSessions = %+v, %v; want 2 sessions", got, err)
	}
	byAddress := map[string]auth.SessionView{}
	for _, v := range got {
		byAddress[v.ClientAddress] = v
	}
	laptop, phone := byAddress["203.0.113.7"], byAddress["2001:db8::1"]
	if laptop.UserAgent != "e2e-laptop/1.0 (X11; Linux)" || laptop.Current {
		t.Errorf("registration's session = %+v; want its cleaned user agent, not current", laptop)
	}
	if phone.UserAgent != strings.Repeat("é", 256) || !phone.Current {
		t.Errorf("login's session = %+v; want its user agent cut to 256 characters, current", phone)
	}
	if _, err := f.svc.ListSessions(ctx, "forged"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("ListSessions(forged token): err = %v, want ErrInvalidToken", err)
	}
	if c, _ := f.svc.Authenticate(ctx, reg.AccessToken); c.SessionID != laptop.Family {
		t.Errorf("registration's access token names session %s, listed as %s", c.SessionID, laptop.Family)
	}
}

func TestEndSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg := f.register(t, "ada@example.com", "correct horse")
	login, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	bob := f.register(t, "bob@example.com", "correct horse")
	regClaims, _ := f.svc.Authenticate(ctx, reg.AccessToken)
	bobClaims, _ := f.svc.Authenticate(ctx, bob.AccessToken)

	for name, id := range map[string]string{
		"another user's":       bobClaims.SessionID,
		"unknown":              "0b5a3c7e-9f1d-4e2a-8c6b-1d2e3f4a5b6c",
		"malformed":            "../../etc",
		"empty":                "",
		"braced (a UUID form)": "{" + regClaims.SessionID + "}",
	} {
		if err := f.svc.EndSession(ctx, login.AccessToken, id); !errors.Is(err, auth.ErrSessionNotFound) {
			t.Errorf("EndSession(%s id): err = %v, want ErrSessionNotFound", name, err)
		}
	}
	if v, _ := f.svc.Validate(ctx, bob.AccessToken); !v.Valid {
		t.Error("another user's session ended")
	}
	if err := f.svc.EndSession(ctx, login.AccessToken, strings.ToUpper(regClaims.SessionID)); err != nil {
		t.Fatalf("EndSession(own other session): %v", err)
	}
	if v, _ := f.svc.Validate(ctx, reg.AccessToken); v.Valid {
		t.Error("the ended session's access token still validates")
	}
	if _, err := f.svc.Refresh(ctx, reg.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Refresh(ended session): err = %v, want ErrInvalidToken", err)
	}
	if v, _ := f.svc.Validate(ctx, login.AccessToken); !v.Valid {
		t.Error("the asking session ended too")
	}
	if err := f.svc.EndSession(ctx, login.AccessToken, regClaims.SessionID); !errors.Is(err, auth.ErrSessionNotFound) {
		t.Errorf("EndSession(already ended): err = %v, want ErrSessionNotFound", err)
	}
	if err := f.svc.EndSession(ctx, reg.AccessToken, regClaims.SessionID); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("EndSession with the ended session's token: err = %v, want ErrInvalidToken", err)
	}
}

func TestEndAllSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg := f.register(t, "ada@example.com", "correct horse")
	login, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	bob := f.register(t, "bob@example.com", "correct horse")
	if n, err := f.svc.EndAllSessions(ctx, login.AccessToken); err != nil || n != 2 {
		t.Fatalf("EndAllSessions = %d, %v; want 2", n, err)
	}
	for name, tok := range map[string]auth.Tokens{"other session": reg, "asking session": login} {
		if v, _ := f.svc.Validate(ctx, tok.AccessToken); v.Valid {
			t.Errorf("%s's access token still validates", name)
		}
		if _, err := f.svc.Refresh(ctx, tok.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Refresh(%s): err = %v, want ErrInvalidToken", name, err)
		}
	}
	if v, _ := f.svc.Validate(ctx, bob.AccessToken); !v.Valid {
		t.Error("another user's session ended")
	}
	if _, err := f.svc.EndAllSessions(ctx, login.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("EndAllSessions with an ended session's token: err = %v, want ErrInvalidToken", err)
	}
}
