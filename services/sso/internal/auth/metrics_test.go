package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ssokit/platform/services/sso/internal/auth"
)

// authMetrics is the expected exposition of every auth metric.
type authMetrics struct {
	success, invalid, throttled int
	issuedAccess, issuedRefresh int
	refreshed                   int
	revokedAccess, revokedFam   int
	reused                      int
	// sessions ended by reason
	sDeleted, sRevokeAll, sReset, sChanged, sAdmin int
	// throttled logins by limit, and throttled registrations
	tPair, tAccount, tAddress, tRegister int
}

func (m authMetrics) String() string {
	return fmt.Sprintf(`
# HELP sso_logins_total Login attempts by outcome: success, invalid (wrong or malformed e-mail or password), throttled (refused after too many failures), unverified (the right password for an address not verified, where logins require it).
# TYPE sso_logins_total counter
sso_logins_total{outcome="invalid"} %d
sso_logins_total{outcome="success"} %d
sso_logins_total{outcome="throttled"} %d
sso_logins_total{outcome="unverified"} 0
# HELP sso_refresh_reuse_detected_total Refresh tokens presented again after their rotation; each revoked its family.
# TYPE sso_refresh_reuse_detected_total counter
sso_refresh_reuse_detected_total %d
# HELP sso_sessions_revoked_total Sessions (refresh-token families, with their access tokens) ended by reason: session_deleted (the user ended one), revoke_all (the user logged out everywhere), password_reset, password_changed, admin (an administrator disabled the user, revoked its role or ended its sessions), account_deleted.
# TYPE sso_sessions_revoked_total counter
sso_sessions_revoked_total{reason="account_deleted"} 0
sso_sessions_revoked_total{reason="admin"} %d
sso_sessions_revoked_total{reason="password_changed"} %d
sso_sessions_revoked_total{reason="password_reset"} %d
sso_sessions_revoked_total{reason="revoke_all"} %d
sso_sessions_revoked_total{reason="session_deleted"} %d
# HELP sso_throttled_total Attempts refused by a throttling limit before any password was hashed, by op (login, register) and limit: account_address (one account from one client address), account (one account from everywhere: an account under attack), address (one client address).
# TYPE sso_throttled_total counter
sso_throttled_total{limit="account",op="forgot_password"} 0
sso_throttled_total{limit="account",op="login"} %d
sso_throttled_total{limit="account",op="resend_verification"} 0
sso_throttled_total{limit="account_address",op="login"} %d
sso_throttled_total{limit="address",op="forgot_password"} 0
sso_throttled_total{limit="address",op="login"} %d
sso_throttled_total{limit="address",op="register"} %d
sso_throttled_total{limit="address",op="resend_verification"} 0
sso_throttled_total{limit="address",op="reset_password"} 0
# HELP sso_tokens_issued_total Tokens handed out by register, login and refresh, by kind: access, refresh.
# TYPE sso_tokens_issued_total counter
sso_tokens_issued_total{kind="access"} %d
sso_tokens_issued_total{kind="refresh"} %d
# HELP sso_tokens_refreshed_total Successful refresh-token rotations.
# TYPE sso_tokens_refreshed_total counter
sso_tokens_refreshed_total %d
# HELP sso_tokens_revoked_total Revocations by kind: access (an access token at logout), family (every refresh token of a login, at logout or on reuse).
# TYPE sso_tokens_revoked_total counter
sso_tokens_revoked_total{kind="access"} %d
sso_tokens_revoked_total{kind="family"} %d
`, m.invalid, m.success, m.throttled, m.reused, m.sAdmin, m.sChanged, m.sReset, m.sRevokeAll, m.sDeleted, m.tAccount, m.tPair, m.tAddress, m.tRegister, m.issuedAccess, m.issuedRefresh, m.refreshed, m.revokedAccess, m.revokedFam)
}

// TestMetricsCountTheUseCasesDecisions walks one account through its
// life, checking every counter after each step.
func TestMetricsCountTheUseCasesDecisions(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := auth.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, auth.WithMetrics(m))
	ctx := context.Background()
	var first, second auth.Tokens

	steps := []struct {
		name string
		do   func(t *testing.T)
		want authMetrics
	}{
		{"nothing yet: every series at zero", func(*testing.T) {}, authMetrics{}},
		{"register issues a pair", func(t *testing.T) {
			first = f.register(t, "ada@example.com", "correct horse")
		}, authMetrics{issuedAccess: 1, issuedRefresh: 1}},
		{"login succeeds", func(t *testing.T) {
			if _, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"}); err != nil {
				t.Fatal(err)
			}
		}, authMetrics{success: 1, issuedAccess: 2, issuedRefresh: 2}},
		{"wrong password, unknown account and malformed e-mail are invalid", func(t *testing.T) {
			for _, c := range []auth.Credentials{
				{Email: "ada@example.com", Password: "wrong"},
				{Email: "nobody@example.com", Password: "correct horse"},
				{Email: "not an e-mail", Password: "correct horse"},
			} {
				if _, err := f.svc.Login(ctx, c); err == nil {
					t.Fatalf("login %+v succeeded", c)
				}
			}
		}, authMetrics{success: 1, invalid: 3, issuedAccess: 2, issuedRefresh: 2}},
		{"the account's fourth attempt is throttled", func(t *testing.T) {
			for range 2 {
				_, _ = f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "wrong"})
			}
			_, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"})
			var th *auth.ThrottledError
			if !errors.As(err, &th) {
				t.Fatalf("err = %v, want ThrottledError", err)
			}
		}, authMetrics{success: 1, invalid: 5, throttled: 1, tPair: 1, issuedAccess: 2, issuedRefresh: 2}},
		{"refresh rotates and issues a pair", func(t *testing.T) {
			var err error
			if second, err = f.svc.Refresh(ctx, first.RefreshToken); err != nil {
				t.Fatal(err)
			}
		}, authMetrics{success: 1, invalid: 5, throttled: 1, tPair: 1, issuedAccess: 3, issuedRefresh: 3, refreshed: 1}},
		{"reuse revokes the family", func(t *testing.T) {
			if _, err := f.svc.Refresh(ctx, first.RefreshToken); !errors.Is(err, auth.ErrRefreshReused) {
				t.Fatalf("err = %v, want ErrRefreshReused", err)
			}
		}, authMetrics{success: 1, invalid: 5, throttled: 1, tPair: 1, issuedAccess: 3, issuedRefresh: 3, refreshed: 1, reused: 1, revokedFam: 1}},
		{"logout ends the family, and its access tokens with it", func(t *testing.T) {
			tok := f.register(t, "bob@example.com", "correct horse")
			if err := f.svc.Logout(ctx, tok.AccessToken, tok.RefreshToken); err != nil {
				t.Fatal(err)
			}
		}, authMetrics{success: 1, invalid: 5, throttled: 1, tPair: 1, issuedAccess: 4, issuedRefresh: 4, refreshed: 1, reused: 1, revokedFam: 2}},
		{"logout revokes an access token of another session", func(t *testing.T) {
			a := f.register(t, "cy@example.com", "correct horse")
			b, err := f.svc.Login(ctx, auth.Credentials{Email: "cy@example.com", Password: "correct horse"})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.svc.Logout(ctx, b.AccessToken, a.RefreshToken); err != nil {
				t.Fatal(err)
			}
		}, authMetrics{success: 2, invalid: 5, throttled: 1, tPair: 1, issuedAccess: 6, issuedRefresh: 6, refreshed: 1, reused: 1, revokedFam: 3, revokedAccess: 1}},
		{"logging out of an ended session revokes nothing", func(t *testing.T) {
			if err := f.svc.Logout(ctx, "", second.RefreshToken); err != nil {
				t.Fatalf("err = %v", err)
			}
		}, authMetrics{success: 2, invalid: 5, throttled: 1, tPair: 1, issuedAccess: 6, issuedRefresh: 6, refreshed: 1, reused: 1, revokedFam: 3, revokedAccess: 1}},
	}
	for _, st := range steps {
		st.do(t)
		if err := testutil.GatherAndCompare(reg, strings.NewReader(st.want.String()),
			"sso_logins_total", "sso_refresh_reuse_detected_total", "sso_throttled_total", "sso_tokens_issued_total",
			"sso_tokens_refreshed_total", "sso_tokens_revoked_total", "sso_sessions_revoked_total"); err != nil {
			t.Fatalf("after %q: %v", st.name, err)
		}
	}
}

func TestServiceWithoutMetricsCountsNothing(t *testing.T) {
	f := newFixture(t) // no WithMetrics: must not panic
	f.register(t, "ada@example.com", "correct horse")
	if _, err := f.svc.Login(context.Background(), auth.Credentials{Email: "ada@example.com", Password: "wrong"}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatal(err)
	}
}

// Sessions ended through the sessions API are counted by reason, each
// session once: a refused or repeated end counts nothing.
func TestMetricsCountEndedSessions(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := auth.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, auth.WithMetrics(m))
	ctx := context.Background()
	a := f.register(t, "ada@example.com", "correct horse")
	var logins []auth.Tokens
	for range 3 {
		tok, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"})
		if err != nil {
			t.Fatal(err)
		}
		logins = append(logins, tok)
	}
	ended, _ := f.svc.Authenticate(ctx, logins[0].AccessToken)
	if err := f.svc.EndSession(ctx, a.AccessToken, ended.SessionID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.EndSession(ctx, a.AccessToken, ended.SessionID); !errors.Is(err, auth.ErrSessionNotFound) {
		t.Fatalf("second EndSession: err = %v, want ErrSessionNotFound", err)
	}
	if n, err := f.svc.EndAllSessions(ctx, a.AccessToken); err != nil || n != 3 {
		t.Fatalf("EndAllSessions = %d, %v; want 3", n, err)
	}
	want := authMetrics{sDeleted: 1, sRevokeAll: 3}.String()
	// Only the sessions counter: cut the exposition down to its block.
	start := strings.Index(want, "# HELP sso_sessions_revoked_total")
	end := strings.Index(want, "# HELP sso_throttled_total")
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want[start:end]), "sso_sessions_revoked_total"); err != nil {
		t.Error(err)
	}
}
