package auth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/auth/authtest"
	"github.com/ssokit/platform/services/sso/internal/token"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// newAccountFixture is newFixture with an account policy.
func newAccountFixture(t *testing.T, ac auth.AccountConfig) *fixture {
	t.Helper()
	f := &fixture{users: authtest.NewUsers(), sessions: authtest.NewSessions(), hasher: &fakeHasher{version: "v2"}}
	signer := &fakeSigner{now: time.Now(), ttl: 15 * time.Minute, issued: map[string]token.Claims{}}
	svc, err := auth.NewService(auth.Deps{
		Users: f.users, Accounts: f.users, Sessions: f.sessions, Throttle: authtest.NewThrottle(),
		Hasher: f.hasher, Signer: signer, Policy: fakePolicy{},
	}, auth.Config{AccessTTL: 15 * time.Minute, RefreshTTL: time.Hour, FamilyTTL: 24 * time.Hour, Limits: testLimits, Account: ac},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

// lastToken returns the raw token of the user's newest event of kind.
func (f *fixture) lastToken(t *testing.T, userID string, kind user.EventKind) string {
	t.Helper()
	f.svc.Drain() // reset requests are stored after their answer
	events := f.users.Events()
	for i := len(events) - 1; i >= 0; i-- {
		if e := events[i]; e.UserID == userID && e.Kind == kind {
			return e.Token.Raw
		}
	}
	t.Fatalf("no %s event for %s in %+v", kind, userID, events)
	return ""
}

func (f *fixture) count(userID string, kind user.EventKind) int {
	f.svc.Drain()
	n := 0
	for _, e := range f.users.Events() {
		if e.UserID == userID && e.Kind == kind {
			n++
		}
	}
	return n
}

func TestRegisterRequestsVerification(t *testing.T) {
	f := newFixture(t)
	tok := f.register(t, "ada@example.com", "correct horse")
	events := f.users.Events()
	if len(events) != 1 || events[0].Kind != user.EventEmailVerificationRequested || events[0].Email != "ada@example.com" {
		t.Fatalf("events = %+v, want one verification request", events)
	}
	vt := events[0].Token
	if vt.Purpose != user.PurposeEmailVerification || vt.Hash != token.HashRefresh(vt.Raw) || len(vt.Raw) != 43 {
		t.Fatalf("token = %+v", vt)
	}
	if ttl := time.Until(vt.ExpiresAt); ttl < 23*time.Hour || ttl > 24*time.Hour {
		t.Fatalf("verification token lives %v, want 24h", ttl)
	}
	c, err := f.svc.Authenticate(context.Background(), tok.AccessToken)
	if err != nil || c.EmailVerified {
		t.Fatalf("claims = %+v, %v; want email_verified false", c, err)
	}
}

func TestVerifyEmailWorksOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tok := f.register(t, "ada@example.com", "correct horse")
	raw := f.lastToken(t, tok.UserID, user.EventEmailVerificationRequested)

	if err := f.svc.VerifyEmail(ctx, raw); err != nil {
		t.Fatalf("verify: %v", err)
	}
	u, err := f.svc.Me(ctx, tok.AccessToken)
	if err != nil || !u.EmailVerified {
		t.Fatalf("me = %+v, %v; want verified", u, err)
	}
	if n := f.count(tok.UserID, user.EventEmailVerified); n != 1 {
		t.Fatalf("%d EmailVerified events, want 1", n)
	}
	login, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := f.svc.Authenticate(ctx, login.AccessToken); !c.EmailVerified {
		t.Fatal("an access token issued after verification says email_verified false")
	}
	for name, bad := range map[string]string{
		"reused": raw,
		"forged": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"huge":   string(make([]byte, 4096)),
	} {
		if err := f.svc.VerifyEmail(ctx, bad); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Errorf("%s token: err = %v, want ErrTokenInvalid", name, err)
		}
	}
	var inv *auth.InvalidArgumentError
	if err := f.svc.VerifyEmail(ctx, ""); !errors.As(err, &inv) || inv.Field != "token" {
		t.Errorf("empty token: err = %v, want invalid token field", err)
	}
}

func TestVerifyEmailRefusesExpiredAndSupersededTokens(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tok := f.register(t, "ada@example.com", "correct horse")
	first := f.lastToken(t, tok.UserID, user.EventEmailVerificationRequested)
	if err := f.svc.ResendVerification(ctx, tok.AccessToken, "10.0.0.1"); err != nil {
		t.Fatalf("resend: %v", err)
	}
	second := f.lastToken(t, tok.UserID, user.EventEmailVerificationRequested)
	if first == second {
		t.Fatal("resend mailed the same token")
	}
	if err := f.svc.VerifyEmail(ctx, first); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("superseded token: err = %v, want ErrTokenInvalid", err)
	}
	f.users.Expire(tok.UserID)
	if err := f.svc.VerifyEmail(ctx, second); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("expired token: err = %v, want ErrTokenInvalid", err)
	}
}

func TestResendVerificationIsThrottledAndRefusedOnceVerified(t *testing.T) {
	ctx := context.Background()
	f := newAccountFixture(t, auth.AccountConfig{ResendAccount: 2})
	tok := f.register(t, "ada@example.com", "correct horse")
	for i := range 2 {
		if err := f.svc.ResendVerification(ctx, tok.AccessToken, "10.0.0.1"); err != nil {
			t.Fatalf("resend %d: %v", i, err)
		}
	}
	var th *auth.ThrottledError
	if err := f.svc.ResendVerification(ctx, tok.AccessToken, "10.0.0.2"); !errors.As(err, &th) || th.RetryAfter <= 0 {
		t.Fatalf("third resend: err = %v, want throttled", err)
	}
	if n := f.count(tok.UserID, user.EventEmailVerificationRequested); n != 3 {
		t.Fatalf("%d verification requests, want 3 (registration and two resends)", n)
	}
	if err := f.svc.VerifyEmail(ctx, f.lastToken(t, tok.UserID, user.EventEmailVerificationRequested)); err != nil {
		t.Fatal(err)
	}
	g := newFixture(t)
	tok = g.register(t, "bob@example.com", "correct horse")
	if err := g.svc.VerifyEmail(ctx, g.lastToken(t, tok.UserID, user.EventEmailVerificationRequested)); err != nil {
		t.Fatal(err)
	}
	if err := g.svc.ResendVerification(ctx, tok.AccessToken, ""); !errors.Is(err, auth.ErrAlreadyVerified) {
		t.Fatalf("resend when verified: err = %v, want ErrAlreadyVerified", err)
	}
	if err := g.svc.ResendVerification(ctx, "", ""); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("resend without a token: err = %v, want ErrUnauthenticated", err)
	}
}

func TestForgotPasswordAnswersAlikeForKnownAndUnknownAddresses(t *testing.T) {
	ctx := context.Background()
	f := newAccountFixture(t, auth.AccountConfig{ForgotAccount: 2})
	tok := f.register(t, "ada@example.com", "correct horse")
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		for i := range 2 {
			if err := f.svc.ForgotPassword(ctx, email, "10.0.0.1"); err != nil {
				t.Fatalf("forgot %s #%d: %v", email, i, err)
			}
		}
		// Throttled alike, known or not.
		var th *auth.ThrottledError
		if err := f.svc.ForgotPassword(ctx, email, "10.0.0.9"); !errors.As(err, &th) {
			t.Fatalf("forgot %s #3: err = %v, want throttled", email, err)
		}
	}
	if n := f.count(tok.UserID, user.EventPasswordResetRequested); n != 2 {
		t.Fatalf("%d reset requests for the known address, want 2", n)
	}
	for _, e := range f.users.Events() {
		if e.Email == "nobody@example.com" {
			t.Fatalf("an event for an unknown address: %+v", e)
		}
	}
	raw := f.lastToken(t, tok.UserID, user.EventPasswordResetRequested)
	if ttl := time.Until(f.users.Events()[len(f.users.Events())-1].Token.ExpiresAt); ttl > 30*time.Minute || ttl < 29*time.Minute {
		t.Fatalf("reset token lives %v, want 30m", ttl)
	}
	if raw == "" {
		t.Fatal("no reset token")
	}
}

func TestResetPasswordEndsEverySessionAndWorksOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	reg := f.register(t, "ada@example.com", "correct horse")
	other, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ForgotPassword(ctx, "ada@example.com", ""); err != nil {
		t.Fatal(err)
	}
	raw := f.lastToken(t, reg.UserID, user.EventPasswordResetRequested)

	// A password the policy refuses leaves the token working.
	var inv *auth.InvalidArgumentError
	if err := f.svc.ResetPassword(ctx, auth.PasswordReset{Token: raw, NewPassword: "short"}); !errors.As(err, &inv) || inv.Field != "new_password" {
		t.Fatalf("weak password: err = %v, want invalid new_password", err)
	}
	if err := f.svc.ResetPassword(ctx, auth.PasswordReset{Token: raw, NewPassword: "battery staple"}); err != nil {
		t.Fatalf("reset: %v", err)
	}
	for _, rt := range []string{reg.RefreshToken, other.RefreshToken} {
		if _, err := f.svc.Refresh(ctx, rt); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("refresh after reset: err = %v, want ErrInvalidToken", err)
		}
	}
	for _, at := range []string{reg.AccessToken, other.AccessToken} {
		if _, err := f.svc.Authenticate(ctx, at); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("access token after reset: err = %v, want ErrInvalidToken", err)
		}
	}
	if _, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("old password: err = %v, want ErrInvalidCredentials", err)
	}
	if _, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "battery staple"}); err != nil {
		t.Errorf("new password: %v", err)
	}
	if err := f.svc.ResetPassword(ctx, auth.PasswordReset{Token: raw, NewPassword: "another one"}); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Errorf("reused reset token: err = %v, want ErrTokenInvalid", err)
	}
	events := f.users.Events()
	if last := events[len(events)-1]; last.Kind != user.EventPasswordChanged || last.Method != user.PasswordChangeReset {
		t.Errorf("last event = %+v, want PasswordChanged by reset", last)
	}
	// A verification token is no reset token.
	if err := f.svc.ResetPassword(ctx, auth.PasswordReset{Token: f.lastToken(t, reg.UserID, user.EventEmailVerificationRequested), NewPassword: "battery staple"}); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Errorf("verification token used to reset: err = %v, want ErrTokenInvalid", err)
	}
}

func TestResetPasswordTokenIsSingleUseUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	reg := f.register(t, "ada@example.com", "correct horse")
	if err := f.svc.ForgotPassword(ctx, "ada@example.com", ""); err != nil {
		t.Fatal(err)
	}
	raw := f.lastToken(t, reg.UserID, user.EventPasswordResetRequested)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = f.svc.ResetPassword(ctx, auth.PasswordReset{Token: raw, NewPassword: "battery staple"})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, auth.ErrTokenInvalid):
			t.Errorf("err = %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent resets succeeded, want 1", ok)
	}
}

func TestChangePasswordEndsOtherSessionsAndStartsANewOne(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	reg := f.register(t, "ada@example.com", "correct horse")
	other, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	var inv *auth.InvalidArgumentError
	_, err = f.svc.ChangePassword(ctx, auth.PasswordChange{AccessToken: reg.AccessToken, CurrentPassword: "wrong one!", NewPassword: "battery staple"})
	if !errors.As(err, &inv) || inv.Field != "current_password" {
		t.Fatalf("wrong current password: err = %v", err)
	}
	fresh, err := f.svc.ChangePassword(ctx, auth.PasswordChange{AccessToken: reg.AccessToken, CurrentPassword: "correct horse", NewPassword: "battery staple"})
	if err != nil {
		t.Fatalf("change: %v", err)
	}
	for _, rt := range []string{reg.RefreshToken, other.RefreshToken} {
		if _, err := f.svc.Refresh(ctx, rt); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("old refresh token after change: err = %v, want ErrInvalidToken", err)
		}
	}
	for _, at := range []string{reg.AccessToken, other.AccessToken} {
		if _, err := f.svc.Authenticate(ctx, at); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("old access token after change: err = %v, want ErrInvalidToken", err)
		}
	}
	if _, err := f.svc.Refresh(ctx, fresh.RefreshToken); err != nil {
		t.Errorf("new refresh token: %v", err)
	}
	if _, err := f.svc.Me(ctx, fresh.AccessToken); err != nil {
		t.Errorf("new access token: %v", err)
	}
	if _, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "battery staple"}); err != nil {
		t.Errorf("new password: %v", err)
	}
	if n := f.count(reg.UserID, user.EventPasswordChanged); n != 1 {
		t.Errorf("%d PasswordChanged events, want 1", n)
	}
}

func TestChangePasswordCountsWrongPasswordsAsLoginFailures(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	reg := f.register(t, "ada@example.com", "correct horse")
	var th *auth.ThrottledError
	for i := range testLimits.LoginAccountAddress + 1 {
		_, err := f.svc.ChangePassword(ctx, auth.PasswordChange{AccessToken: reg.AccessToken, CurrentPassword: "wrong one!", NewPassword: "battery staple", ClientIP: "10.0.0.1"})
		if i == testLimits.LoginAccountAddress && !errors.As(err, &th) {
			t.Fatalf("attempt %d: err = %v, want throttled", i+1, err)
		}
	}
}

func TestLoginRequiresVerifiedEmailOnlyAfterThePassword(t *testing.T) {
	ctx := context.Background()
	f := newAccountFixture(t, auth.AccountConfig{RequireVerifiedEmail: true})
	reg := f.register(t, "ada@example.com", "correct horse")
	if _, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "wrong one!"}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("wrong password: err = %v, want ErrInvalidCredentials", err)
	}
	if _, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"}); !errors.Is(err, auth.ErrEmailNotVerified) {
		t.Fatalf("right password, unverified: err = %v, want ErrEmailNotVerified", err)
	}
	if err := f.svc.VerifyEmail(ctx, f.lastToken(t, reg.UserID, user.EventEmailVerificationRequested)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Login(ctx, auth.Credentials{Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Fatalf("verified: %v", err)
	}
}

func TestAccountMetricsCountTokenUsesAndFlows(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	m, err := auth.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, auth.WithMetrics(m))
	tok := f.register(t, "ada@example.com", "correct horse")
	raw := f.lastToken(t, tok.UserID, user.EventEmailVerificationRequested)
	_ = f.svc.VerifyEmail(ctx, raw)
	_ = f.svc.VerifyEmail(ctx, raw)
	_ = f.svc.ForgotPassword(ctx, "nobody@example.com", "")
	_ = f.svc.ResetPassword(ctx, auth.PasswordReset{Token: "forged", NewPassword: "battery staple"})
	if _, err := f.svc.ChangePassword(ctx, auth.PasswordChange{AccessToken: tok.AccessToken, CurrentPassword: "correct horse", NewPassword: "battery staple"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		labels []string
		metric string
		want   float64
	}{
		{[]string{"success", "email-verification"}, "sso_account_tokens_total", 1},
		{[]string{"invalid", "email-verification"}, "sso_account_tokens_total", 1},
		{[]string{"invalid", "password-reset"}, "sso_account_tokens_total", 1},
		{[]string{"success", "password-reset"}, "sso_account_tokens_total", 0},
		{[]string{"forgot_password", "success"}, "sso_account_requests_total", 1},
		{[]string{"change_password", "success"}, "sso_account_requests_total", 1},
		{[]string{"resend_verification", "success"}, "sso_account_requests_total", 0},
		{[]string{"unverified"}, "sso_logins_total", 0},
	} {
		if got := gathered(t, reg, c.metric, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.metric, c.labels, got, c.want)
		}
	}
}

// gathered is the value of the series of name whose label values, in
// label-name order, are values.
func gathered(t *testing.T, reg *prometheus.Registry, name string, values []string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			got := make([]string, 0, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				got = append(got, l.GetValue())
			}
			// Labels come sorted by name: flow, outcome, purpose.
			if slices.Equal(got, values) {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series %s%v", name, values)
	return 0
}
