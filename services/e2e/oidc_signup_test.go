package e2e_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssokit/platform/libs/testenv"
)

// TestSignUpAndForgotPasswordWithSSO: a person without an account follows
// an application to sso's sign-in, creates an account there and lands back
// in the application signed in; later, the password forgotten, the hosted
// forgot-password page mails a reset link, whose page sets a new password
// that the next sign-in takes. The application has no page of its own.
func TestSignUpAndForgotPasswordWithSSO(t *testing.T) {
	s := theSystem(t)
	ctx := testenv.Context(t, 3*time.Minute)
	issuer := s.url("")
	_, admin := s.admin(t)
	addr := testenv.Mailbox(t, "e2e-signup")

	notes := newRelyingParty(t, ctx, "Notes", issuer)
	notes.register(t, s, admin.access, false, true, []string{"openid", "email"})
	b := browser(t)

	// The sign-in form links to the hosted sign-up, keeping the request.
	visit(t, b, notes.srv.URL+"/start", "#password")
	if err := chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`nav.links a[href^="/signup?authRequestID="]`)),
		chromedp.WaitVisible(chromedp.CSS("#name")),
	); err != nil {
		t.Fatalf("follow Create an account: %v", err)
	}
	loc, err := chromedp.Run(b, chromedp.Location())
	if err != nil || !strings.HasPrefix(loc, issuer+"/signup?authRequestID=") {
		t.Fatalf("the sign-up page is at %s (%v)", loc, err)
	}
	if got := text(t, b, "main"); !strings.Contains(got, "Notes") {
		t.Fatalf("sign-up page does not name the application: %q", got)
	}
	screenshot(t, b, "signup")

	// A password the policy refuses first: the form again, the error tied
	// to the field.
	if err := chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS("#email"), addr),
		chromedp.SendKeys(chromedp.CSS("#password"), "password123"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#form-error")),
	); err != nil {
		t.Fatalf("sign up with a common password: %v", err)
	}
	if got := text(t, b, "#form-error"); !strings.Contains(got, "too common") {
		t.Fatalf("common password: the page says %q", got)
	}
	if err := chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.SendKeys(chromedp.CSS("#name"), "Grace Hopper"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#result")),
	); err != nil {
		t.Fatalf("sign up: %v", err)
	}
	res := notes.result()
	if res.err != "" || res.idToken == nil || res.idToken.Subject == "" {
		t.Fatalf("Notes after sign-up: %+v; want a verified ID token", res)
	}
	userID := res.idToken.Subject
	var claims struct {
		Email    string `json:"email"`
		Verified *bool  `json:"email_verified"` // false is left out
		SID      string `json:"sid"`
	}
	if err := res.idToken.Claims(&claims); err != nil || claims.Email != addr || claims.Verified != nil && *claims.Verified || claims.SID == "" {
		t.Fatalf("ID token claims %+v (%v); want the new address, unverified, with a session", claims, err)
	}
	if res.userinfo["sub"] != userID || res.userinfo["email"] != addr {
		t.Errorf("userinfo = %v; want sub %s and email %s", res.userinfo, userID, addr)
	}
	// The verification mail goes out as for the API's registration.
	seen := map[string]bool{}
	s.linkToken(t, addr, "/account/verify-email", seen)

	// Signed in at sso: the next sign-in needs no password.
	visit(t, b, notes.srv.URL+"/start", "#result")
	if got := notes.result(); got.err != "" || got.idToken.Subject != userID {
		t.Fatalf("second sign-in: %+v", got)
	}

	// Forgot password, from the sign-in form (prompt=login shows it).
	visit(t, b, notes.srv.URL+"/start?prompt=login", "#password")
	if err := chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`nav.links a[href^="/forgot-password?authRequestID="]`)),
		chromedp.WaitVisible(chromedp.CSS("#forgot-hint")),
	); err != nil {
		t.Fatalf("follow Forgot your password: %v", err)
	}
	screenshot(t, b, "forgot-password")
	if err := chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS("#email"), addr),
		chromedp.Submit(chromedp.CSS("#email")),
		chromedp.WaitVisible(chromedp.CSS(".ok")),
	); err != nil {
		t.Fatalf("ask for a reset link: %v", err)
	}
	if got := text(t, b, "main"); !strings.Contains(got, "If an account uses this e-mail address") {
		t.Fatalf("forgot answer says %q", got)
	}
	link, _ := s.linkToken(t, addr, "/account/reset-password", seen)

	const newPassword = "a brand new passphrase 2026"
	visit(t, b, link, "#new_password")
	if err := chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS("#new_password"), newPassword),
		chromedp.SendKeys(chromedp.CSS("#confirm_password"), newPassword),
		chromedp.Submit(chromedp.CSS("#new_password")),
		chromedp.WaitVisible(chromedp.CSS(".ok")),
	); err != nil {
		t.Fatalf("reset the password: %v", err)
	}

	// The reset ended the sso session: the next sign-in asks for the
	// password, and takes the new one.
	visit(t, b, notes.srv.URL+"/start", "#password")
	if err := chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS("#email"), addr),
		chromedp.SendKeys(chromedp.CSS("#password"), newPassword),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#result")),
	); err != nil {
		t.Fatalf("sign in with the new password: %v", err)
	}
	if got := notes.result(); got.err != "" || got.idToken.Subject != userID {
		t.Fatalf("sign-in with the new password: %+v; want user %s", got, userID)
	}
	log, err := os.ReadFile(s.procs["sso"].log)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), addr) || strings.Contains(string(log), newPassword) || strings.Contains(string(log), password) {
		t.Error("sso's log shows the address or a password")
	}
}
