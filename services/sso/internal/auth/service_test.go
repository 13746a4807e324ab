package auth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/auth/authtest"
	"github.com/ssokit/platform/services/sso/internal/token"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// testLimits are the throttling limits of the fixture.
var testLimits = auth.Limits{
	LoginAccountAddress: 3, LoginAccount: 7, LoginAddress: 10, LoginWindow: time.Minute,
	RegisterAddress: 2, RegisterWindow: time.Hour,
}

type fixture struct {
	svc      *auth.Service
	users    *authtest.Users
	sessions *authtest.Sessions
	hasher   *fakeHasher
	signer   *fakeSigner
	// audit receives the audit entries, of the store's changes and of
	// the use cases' own.
	audit *authtest.AuditLog
}

func newFixture(t *testing.T, opts ...auth.Option) *fixture {
	t.Helper()
	f := &fixture{users: authtest.NewUsers(), sessions: authtest.NewSessions(), hasher: &fakeHasher{version: "v2"}, audit: &authtest.AuditLog{}}
	f.users.Audit = f.audit
	signer := &fakeSigner{now: time.Now(), ttl: 15 * time.Minute, issued: map[string]token.Claims{}}
	f.signer = signer
	return f.build(t, f.users, opts...)
}

// build makes f's service on users, which may wrap f.users.
func (f *fixture) build(t *testing.T, users auth.Users, opts ...auth.Option) *fixture {
	t.Helper()
	accounts, ok := users.(auth.Accounts)
	if !ok {
		accounts = f.users
	}
	svc, err := auth.NewService(auth.Deps{
		Users:     users,
		Accounts:  accounts,
		Sessions:  f.sessions,
		Throttle:  authtest.NewThrottle(),
		Hasher:    f.hasher,
		Signer:    f.signer,
		Policy:    fakePolicy{},
		Directory: authtest.Directory{Users: f.users},
		Audit:     f.audit,
		AuditLog:  f.audit,
	}, auth.Config{AccessTTL: 15 * time.Minute, RefreshTTL: time.Hour, FamilyTTL: 24 * time.Hour, Limits: testLimits},
		slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func TestNewServiceRequiresEveryDep(t *testing.T) {
	users := authtest.NewUsers()
	full := auth.Deps{
		Users: users, Accounts: users, Sessions: authtest.NewSessions(),
		Throttle: authtest.NewThrottle(),
		Hasher:   &fakeHasher{version: "v2"}, Signer: &fakeSigner{issued: map[string]token.Claims{}}, Policy: fakePolicy{},
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, drop := range map[string]func(*auth.Deps){
		"Users":    func(d *auth.Deps) { d.Users = nil },
		"Accounts": func(d *auth.Deps) { d.Accounts = nil },
		"Sessions": func(d *auth.Deps) { d.Sessions = nil },
		"Throttle": func(d *auth.Deps) { d.Throttle = nil },
		"Hasher":   func(d *auth.Deps) { d.Hasher = nil },
		"Signer":   func(d *auth.Deps) { d.Signer = nil },
		"Policy":   func(d *auth.Deps) { d.Policy = nil },
	} {
		d := full
		drop(&d)
		if _, err := auth.NewService(d, auth.Config{Limits: testLimits}, log); err == nil {
			t.Errorf("NewService without %s succeeded", name)
		}
	}
	if _, err := auth.NewService(full, auth.Config{Limits: testLimits}, log); err != nil {
		t.Fatalf("NewService with every dep: %v", err)
	}
	for name, change := range map[string]func(*auth.Limits){
		"no limits":              func(l *auth.Limits) { *l = auth.Limits{} },
		"zero per-address login": func(l *auth.Limits) { l.LoginAddress = 0 },
		"negative login window":  func(l *auth.Limits) { l.LoginWindow = -time.Second },
		"zero registrations":     func(l *auth.Limits) { l.RegisterAddress = 0 },
	} {
		l := testLimits
		change(&l)
		if _, err := auth.NewService(full, auth.Config{Limits: l}, log); err == nil {
			t.Errorf("NewService with %s succeeded", name)
		}
	}
}

func (f *fixture) register(t *testing.T, email, pw string) auth.Tokens {
	t.Helper()
	tok, err := f.svc.Register(context.Background(), auth.Registration{Email: email, Password: pw, FullName: "Ada"})
	if err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	return tok
}

func TestRegisterValidatesInput(t *testing.T) {
	tests := []struct {
		name      string
		reg       auth.Registration
		wantField string
	}{
		{"bad email", auth.Registration{Email: "not-an-email", Password: "correct horse"}, "email"},
		{"empty email", auth.Registration{Password: "correct horse"}, "email"},
		{"short password", auth.Registration{Email: "a@example.com", Password: "short"}, "password"},
		{"huge password", auth.Registration{Email: "a@example.com", Password: strings.Repeat("x", 1<<20)}, "password"},
		{"control chars in name", auth.Registration{Email: "a@example.com", Password: "correct horse", FullName: "Ada\x00"}, "full_name"},
		{"name too long", auth.Registration{Email: "a@example.com", Password: "correct horse", FullName: strings.Repeat("é", 201)}, "full_name"},
		// The limit counts what was sent, as the API document states it.
		{"name too long before trimming", auth.Registration{Email: "a@example.com", Password: "correct horse", FullName: " " + strings.Repeat("é", 199) + " "}, "full_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.svc.Register(context.Background(), tt.reg)
			var inv *auth.InvalidArgumentError
			if !errors.As(err, &inv) || inv.Field != tt.wantField {
				t.Fatalf("err = %v, want invalid %s", err, tt.wantField)
			}
			if f.users.Len() != 0 {
				t.Fatal("a user was stored despite invalid input")
			}
		})
	}
}

func TestRegisterNormalizesEmailAndRejectsDuplicates(t *testing.T) {
	f := newFixture(t)
	tok := f.register(t, "  Ada@Example.COM ", "correct horse")
	if tok.UserID == "" || tok.AccessToken == "" || tok.RefreshToken == "" || tok.ExpiresIn != 15*time.Minute {
		t.Fatalf("tokens = %+v", tok)
	}
	u, err := f.users.ByEmail(context.Background(), "ada@example.com")
	if err != nil || u.ID != tok.UserID || u.EventStatus != user.EventInProgress {
		t.Fatalf("stored user = %+v, %v", u, err)
	}
	_, err = f.svc.Register(context.Background(), auth.Registration{Email: "ADA@example.com", Password: "another one"})
	if !errors.Is(err, user.ErrEmailTaken) {
		t.Fatalf("duplicate: err = %v, want ErrEmailTaken", err)
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	ctx := context.Background()

	before := f.hasher.verifies
	_, errUnknown := f.svc.Login(ctx, auth.Credentials{Email: "nobody@example.com", Password: "correct horse", ClientIP: "10.0.0.1"})
	afterUnknown := f.hasher.verifies
	_, errWrong := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "wrong horse", ClientIP: "10.0.0.2"})

	if !errors.Is(errUnknown, auth.ErrInvalidCredentials) || !errors.Is(errWrong, auth.ErrInvalidCredentials) {
		t.Fatalf("unknown: %v, wrong: %v; want ErrInvalidCredentials for both", errUnknown, errWrong)
	}
	if errUnknown.Error() != errWrong.Error() {
		t.Fatalf("messages differ: %q vs %q", errUnknown, errWrong)
	}
	if afterUnknown-before != 1 || f.hasher.verifies-afterUnknown != 1 {
		t.Fatalf("hash work differs: unknown e-mail %d verifies, wrong password %d", afterUnknown-before, f.hasher.verifies-afterUnknown)
	}
}

func (f *fixture) login(email, pw, ip string) error {
	_, err := f.svc.Login(context.Background(), auth.Credentials{Email: email, Password: pw, ClientIP: ip})
	return err
}

// throttled returns err's wait if it is a ThrottledError of op.
func throttled(t *testing.T, err error, op string) time.Duration {
	t.Helper()
	var th *auth.ThrottledError
	if !errors.As(err, &th) || th.RetryAfter <= 0 || th.Op != op {
		t.Fatalf("err = %v, want a %s ThrottledError with a retry hint", err, op)
	}
	return th.RetryAfter
}

func TestLoginThrottleRefusesEvenTheRightPassword(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	for i := range testLimits.LoginAccountAddress {
		if err := f.login("ada@example.com", "wrong", "10.0.0.1"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	before := f.hasher.verifies
	throttled(t, f.login("ada@example.com", "correct horse", "10.0.0.1"), "login")
	if f.hasher.verifies != before {
		t.Fatal("a refused login was hashed")
	}
}

// TestLoginThrottleDoesNotLockTheOwnerOut: failures from one address close
// the account to that address only, until the account as a whole has had
// LoginAccount failures.
func TestLoginThrottleDoesNotLockTheOwnerOut(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	for range testLimits.LoginAccountAddress {
		_ = f.login("ada@example.com", "wrong", "10.0.0.1")
	}
	throttled(t, f.login("ada@example.com", "wrong", "10.0.0.1"), "login")
	if err := f.login("ada@example.com", "correct horse", "10.9.9.9"); err != nil {
		t.Fatalf("owner from another address: %v", err)
	}
	// Failures from more addresses take the account to its overall limit
	// (7): 3 above, 4 here; then every address is refused.
	for i := range 4 {
		if err := f.login("ada@example.com", "wrong", fmt.Sprintf("10.0.1.%d", i)); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("failure %d from a new address: %v", i, err)
		}
	}
	throttled(t, f.login("ada@example.com", "correct horse", "10.9.9.8"), "login")
	// Other accounts are untouched.
	f.register(t, "bob@example.com", "correct horse")
	if err := f.login("bob@example.com", "correct horse", "10.0.0.1"); err != nil {
		t.Fatalf("another account from the attacker's address: %v", err)
	}
}

// TestLoginSuccessForgetsItsAddressFailures: the owner's typos from one
// address do not add up across successful logins (they still count toward
// the account's overall limit for the window).
func TestLoginSuccessForgetsItsAddressFailures(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	for range 2 {
		for range testLimits.LoginAccountAddress - 1 {
			_ = f.login("ada@example.com", "typo", "10.0.0.1")
		}
		if err := f.login("ada@example.com", "correct horse", "10.0.0.1"); err != nil {
			t.Fatalf("owner after typos: %v", err)
		}
	}
}

// TestLoginThrottlePerAddress: one address spraying over many accounts is
// stopped at LoginAddress failures, also for accounts it never tried.
func TestLoginThrottlePerAddress(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	for i := range testLimits.LoginAddress {
		if err := f.login(fmt.Sprintf("user%d@example.com", i), "guess", "10.0.0.1"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	throttled(t, f.login("ada@example.com", "correct horse", "10.0.0.1"), "login")
	if err := f.login("ada@example.com", "correct horse", "10.0.0.2"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

// TestLoginHashesAtMostTheLimitUnderConcurrency is the unit version of the
// end-to-end burst test: however many guesses race, only LoginAccountAddress
// passwords are checked.
func TestLoginHashesAtMostTheLimitUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() { _ = f.login("ada@example.com", fmt.Sprintf("guess %d", i), "10.0.0.1") })
	}
	wg.Wait()
	if f.hasher.verifies != testLimits.LoginAccountAddress {
		t.Fatalf("%d passwords checked, want %d", f.hasher.verifies, testLimits.LoginAccountAddress)
	}
}

func TestRegisterThrottlePerAddress(t *testing.T) {
	f := newFixture(t)
	reg := func(email, ip string) error {
		_, err := f.svc.Register(context.Background(), auth.Registration{Email: email, Password: "correct horse", ClientIP: ip})
		return err
	}
	if err := reg("ada@example.com", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	// A taken e-mail counts too.
	if err := reg("ada@example.com", "10.0.0.1"); !errors.Is(err, user.ErrEmailTaken) {
		t.Fatalf("duplicate: %v", err)
	}
	// Invalid input does not: it is refused before any work.
	if _, err := f.svc.Register(context.Background(), auth.Registration{Email: "bad", Password: "correct horse", ClientIP: "10.0.0.1"}); err == nil {
		t.Fatal("bad e-mail accepted")
	}
	wait := throttled(t, reg("bob@example.com", "10.0.0.1"), "register")
	if wait <= 59*time.Minute || wait > time.Hour {
		t.Errorf("RetryAfter = %s, want about an hour", wait)
	}
	if _, err := f.users.ByEmail(context.Background(), "bob@example.com"); !errors.Is(err, user.ErrNotFound) {
		t.Fatalf("refused registration stored a user: %v", err)
	}
	if err := reg("bob@example.com", "10.0.0.2"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	// Calls from inside the process (no address) are not limited.
	for i := range 3 {
		if err := reg(fmt.Sprintf("in%d@example.com", i), ""); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoginUpgradesOutdatedHash(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	f.hasher.version = "v3" // parameters raised after the user registered
	if _, err := f.svc.Login(context.Background(), auth.Credentials{Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	u, _ := f.users.ByEmail(context.Background(), "ada@example.com")
	if !strings.HasPrefix(u.PasswordHash, "v3$") {
		t.Fatalf("hash = %q, want upgraded to v3", u.PasswordHash)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := f.register(t, "ada@example.com", "correct horse")

	second, err := f.svc.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh returned the same tokens")
	}
	if _, err := f.svc.Refresh(ctx, first.RefreshToken); !errors.Is(err, auth.ErrRefreshReused) {
		t.Fatalf("reuse of #1: err = %v, want ErrRefreshReused", err)
	}
	if _, err := f.svc.Refresh(ctx, second.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("#2 after reuse: err = %v, want ErrInvalidToken (family revoked)", err)
	}
}

func TestLogoutRevokesAccessAndFamily(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok := f.register(t, "ada@example.com", "correct horse")
	other := f.register(t, "bob@example.com", "correct horse")

	if err := f.svc.Logout(ctx, tok.AccessToken, tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.Validate(ctx, tok.AccessToken)
	if err != nil || v.Valid {
		t.Fatalf("validate after logout = %+v, %v; want invalid", v, err)
	}
	if _, err := f.svc.Refresh(ctx, tok.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("refresh after logout: %v", err)
	}
	if _, err := f.svc.Refresh(ctx, other.RefreshToken); err != nil {
		t.Fatalf("bob's session must survive ada's logout: %v", err)
	}
	// Logging out again, with the access token now revoked, still succeeds.
	if err := f.svc.Logout(ctx, tok.AccessToken, tok.RefreshToken); err != nil {
		t.Fatalf("second logout: %v", err)
	}
}

// The refresh token alone ends its session, and with it the session's
// access tokens, whatever access token comes with it; only a missing
// refresh token is refused.
func TestLogoutByRefreshToken(t *testing.T) {
	tests := []struct {
		name string
		// logout logs out of tok's session as the case says, and returns
		// the refresh token that must now be dead ("" if none).
		logout func(t *testing.T, f *fixture, tok auth.Tokens) (string, error)
		// accessRevoked says whether tok's access token ends too.
		accessRevoked bool
	}{
		{"refresh token alone", func(t *testing.T, f *fixture, tok auth.Tokens) (string, error) {
			return tok.RefreshToken, f.svc.Logout(context.Background(), "", tok.RefreshToken)
		}, true},
		{"with an invalid access token, ignored", func(t *testing.T, f *fixture, tok auth.Tokens) (string, error) {
			return tok.RefreshToken, f.svc.Logout(context.Background(), "expired-or-forged", tok.RefreshToken)
		}, true},
		{"with its access token", func(t *testing.T, f *fixture, tok auth.Tokens) (string, error) {
			return tok.RefreshToken, f.svc.Logout(context.Background(), tok.AccessToken, tok.RefreshToken)
		}, true},
		{"with a rotated-away refresh token", func(t *testing.T, f *fixture, tok auth.Tokens) (string, error) {
			next, err := f.svc.Refresh(context.Background(), tok.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			return next.RefreshToken, f.svc.Logout(context.Background(), "", tok.RefreshToken)
		}, true},
		{"with an unknown refresh token", func(t *testing.T, f *fixture, tok auth.Tokens) (string, error) {
			return "", f.svc.Logout(context.Background(), tok.AccessToken, "never-issued")
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			tok := f.register(t, "ada@example.com", "correct horse")
			bystander := f.register(t, "bob@example.com", "correct horse")
			dead, err := tt.logout(t, f, tok)
			if err != nil {
				t.Fatalf("Logout: %v", err)
			}
			if dead != "" {
				if _, err := f.svc.Refresh(ctx, dead); !errors.Is(err, auth.ErrInvalidToken) {
					t.Errorf("refresh after logout: err = %v, want ErrInvalidToken", err)
				}
			}
			if v, err := f.svc.Validate(ctx, tok.AccessToken); err != nil || v.Valid == tt.accessRevoked {
				t.Errorf("access token valid = %v, %v after logout; want %v", v.Valid, err, !tt.accessRevoked)
			}
			if _, err := f.svc.Refresh(ctx, bystander.RefreshToken); err != nil {
				t.Errorf("another user's session ended: %v", err)
			}
		})
	}
}

func TestLogoutNeedsTheRefreshToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok := f.register(t, "ada@example.com", "correct horse")
	err := f.svc.Logout(ctx, tok.AccessToken, "")
	var inv *auth.InvalidArgumentError
	if !errors.As(err, &inv) || inv.Field != "refresh_token" {
		t.Fatalf("Logout without a refresh token: err = %v, want an InvalidArgumentError on refresh_token", err)
	}
	// Refused, it ended nothing.
	if v, err := f.svc.Validate(ctx, tok.AccessToken); err != nil || !v.Valid {
		t.Errorf("access token after a refused logout: valid = %v, %v; want still valid", v.Valid, err)
	}
	if _, err := f.svc.Refresh(ctx, tok.RefreshToken); err != nil {
		t.Errorf("refresh after a refused logout: %v", err)
	}
}

func TestValidate(t *testing.T) {
	f := newFixture(t)
	tok := f.register(t, "ada@example.com", "correct horse")
	tests := []struct {
		name      string
		token     string
		wantValid bool
		wantErr   bool
	}{
		{"issued token", tok.AccessToken, true, false},
		{"garbage", "not-a-token", false, false},
		{"empty", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := f.svc.Validate(context.Background(), tt.token)
			if (err != nil) != tt.wantErr || v.Valid != tt.wantValid {
				t.Fatalf("got %+v, %v; want valid=%v err=%v", v, err, tt.wantValid, tt.wantErr)
			}
			if v.Valid && v.UserID != tok.UserID {
				t.Fatalf("user id = %q, want %q", v.UserID, tok.UserID)
			}
		})
	}
}

func TestIsAdminAnswersOnlyTheUserOrAnAdministrator(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ada := f.register(t, "ada@example.com", "correct horse")
	bob := f.register(t, "bob@example.com", "correct horse")
	f.users.SetAdmin(bob.UserID, true)
	root, err := f.svc.Login(ctx, auth.Credentials{Email: "bob@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	unknown := "7a1c9d2e-0000-4000-8000-000000000000"
	tests := []struct {
		name      string
		access    string
		userID    string
		wantAdmin bool
		wantErr   error // nil, a sentinel, or errInvalid
	}{
		{"no token", "", ada.UserID, false, auth.ErrUnauthenticated},
		{"forged token", "not-a-token", ada.UserID, false, auth.ErrInvalidToken},
		{"user about itself", ada.AccessToken, ada.UserID, false, nil},
		{"user about itself, upper case", ada.AccessToken, strings.ToUpper(ada.UserID), false, nil},
		{"user about an administrator", ada.AccessToken, bob.UserID, false, auth.ErrForbidden},
		// A non-administrator learns nothing of ids: not whether one
		// exists, not even whether it is well formed.
		{"user about an unknown id", ada.AccessToken, unknown, false, auth.ErrForbidden},
		{"user about a non-UUID", ada.AccessToken, "42", false, auth.ErrForbidden},
		{"administrator about a user", root.AccessToken, ada.UserID, false, nil},
		{"administrator about itself", root.AccessToken, bob.UserID, true, nil},
		{"administrator about an unknown id", root.AccessToken, unknown, false, user.ErrNotFound},
		{"administrator about a non-UUID", root.AccessToken, "42", false, errInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admin, err := f.svc.IsAdmin(ctx, tt.access, tt.userID)
			switch {
			case tt.wantErr == errInvalid:
				var inv *auth.InvalidArgumentError
				if !errors.As(err, &inv) || inv.Field != "user_id" {
					t.Fatalf("IsAdmin: %v, want an invalid user_id", err)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("IsAdmin: %v, want %v", err, tt.wantErr)
				}
			case err != nil || admin != tt.wantAdmin:
				t.Fatalf("IsAdmin = %v, %v; want %v", admin, err, tt.wantAdmin)
			}
		})
	}
}

// errInvalid stands for an *auth.InvalidArgumentError in test tables.
var errInvalid = errors.New("invalid argument")

// failingUsers fails ByID while fail is set, as a database failing over
// does.
type failingUsers struct {
	*authtest.Users
	fail *bool
}

var errDatabaseDown = errors.New("database unavailable")

func (u failingUsers) ByID(ctx context.Context, id string) (user.User, error) {
	if *u.fail {
		return user.User{}, errDatabaseDown
	}
	return u.Users.ByID(ctx, id)
}

// A refresh that cannot read the account fails without rotating: the
// client's retry with the same token succeeds once the database is back,
// instead of counting as a reuse that ends the session.
func TestRefreshFailingToReadTheAccountKeepsTheToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg := f.register(t, "ada@example.com", "correct horse")
	down := true
	f.build(t, failingUsers{Users: f.users, fail: &down})
	if _, err := f.svc.Refresh(ctx, reg.RefreshToken); !errors.Is(err, errDatabaseDown) {
		t.Fatalf("Refresh with the database down: %v, want its error", err)
	}
	down = false
	next, err := f.svc.Refresh(ctx, reg.RefreshToken)
	if err != nil {
		t.Fatalf("the same token once the database is back: %v (rotated by the failed refresh?)", err)
	}
	if v, err := f.svc.Validate(ctx, next.AccessToken); err != nil || !v.Valid {
		t.Fatalf("Validate(new access token) = %+v, %v", v, err)
	}
}
