package e2e_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/testenv"
)

// linkToken waits for a mail to addr whose body links to path and
// returns that link, checked to lead to the test's sso, and its token.
func (s *system) linkToken(t *testing.T, addr, path string, seen map[string]bool) (link, token string) {
	t.Helper()
	re := regexp.MustCompile(`https?://[^\s]+` + regexp.QuoteMeta(path) + `\?token=([A-Za-z0-9_-]+)`)
	if !testenv.Eventually(30*time.Second, 200*time.Millisecond, func() bool {
		mails, err := testenv.MailsTo(addr)
		if err != nil {
			return false
		}
		for _, m := range mails {
			if seen[m.ID] {
				continue
			}
			body, err := testenv.MailBody(m.ID)
			if err != nil {
				continue
			}
			if found := re.FindStringSubmatch(body); found != nil {
				seen[m.ID] = true
				link, token = found[0], found[1]
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no mail to %s linking to %s within 30s; notifier log:\n%s", addr, path, s.logs("welcome-notifier"))
	}
	if !strings.HasPrefix(link, "http://"+s.ssoHTTP+path) {
		t.Fatalf("the mail links to %s, not to this sso (%s)", link, s.ssoHTTP)
	}
	return link, token
}

// TestVerifyByTheLinkInTheMail is the README's first lifecycle walk: a
// new user gets a mail whose link opens a page; posting its form verifies
// the address, which the profile then reports, and the link is spent.
func TestVerifyByTheLinkInTheMail(t *testing.T) {
	s := theSystem(t)
	addr := testenv.Mailbox(t, "e2e-verify")
	_, access := s.register(t, addr, nil)
	if me := call(t, http.MethodGet, "http://"+s.ssoHTTP+"/v1/users/me", access, nil, nil); me.Body["email_verified"] != false {
		t.Fatalf("a new user's profile: %s; want email_verified false", me.Raw)
	}
	link, token := s.linkToken(t, addr, "/account/verify-email", map[string]bool{})

	page := httpGet(t, link)
	if !strings.Contains(page, `name="token" value="`+token+`"`) {
		t.Fatalf("the link's page has no form carrying the token:\n%s", page)
	}
	if me := call(t, http.MethodGet, "http://"+s.ssoHTTP+"/v1/users/me", access, nil, nil); me.Body["email_verified"] != false {
		t.Fatalf("opening the link verified the address before the form was posted: %s", me.Raw)
	}
	status, page := httpPostForm(t, "http://"+s.ssoHTTP+"/account/verify-email", url.Values{"token": {token}})
	if status != http.StatusOK || !strings.Contains(page, "verified") {
		t.Fatalf("posting the form = %d:\n%s", status, page)
	}
	if me := call(t, http.MethodGet, "http://"+s.ssoHTTP+"/v1/users/me", access, nil, nil); me.Body["email_verified"] != true {
		t.Fatalf("after verifying, the profile says %s", me.Raw)
	}
	if r := call(t, http.MethodPost, "http://"+s.ssoHTTP+"/v1/auth/email/verify", "", map[string]string{"token": token}, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("the spent token again over REST = %d %s; want 400", r.Status, r.Raw)
	}
}

// TestForgotResetOldTokensRefused is the README's second walk: forgot ->
// the mail's token -> reset -> every old token refused, the old password
// refused, the new one logs in, and a notice mail says the password
// changed. On the way, an expired, a forged and a spent reset token are
// refused.
func TestForgotResetOldTokensRefused(t *testing.T) {
	s := theSystem(t)
	addr := testenv.Mailbox(t, "e2e-reset")
	unknown := testenv.Mailbox(t, "e2e-nobody")
	sso := "http://" + s.ssoHTTP
	s.register(t, addr, nil)
	login := call(t, http.MethodPost, sso+"/v1/auth/login", "", map[string]string{"email": addr, "password": password}, nil)
	if login.Status != http.StatusOK {
		t.Fatalf("login: %d %s", login.Status, login.Raw)
	}
	oldAccess, oldRefresh := login.str("access_token"), login.str("refresh_token")

	known := call(t, http.MethodPost, sso+"/v1/auth/password/forgot", "", map[string]string{"email": addr}, nil)
	other := call(t, http.MethodPost, sso+"/v1/auth/password/forgot", "", map[string]string{"email": unknown}, nil)
	if known.Status != http.StatusOK || other.Status != known.Status || other.Raw != known.Raw {
		t.Fatalf("forgot answers differ: known %d %s, unknown %d %s", known.Status, known.Raw, other.Status, other.Raw)
	}
	seen := map[string]bool{}
	_, expired := s.linkToken(t, addr, "/account/reset-password", seen)

	const newPassword = "a brand new passphrase 2026"
	// Time passes in the database: the first link's token expires.
	db, err := sqlx.Open("postgres", testenv.WithDatabase(testenv.PGPrimaryDSN, s.dbs["sso"]))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE one_time_tokens SET expires_at = now() - interval '1 second'
		WHERE purpose = 'password-reset' AND used_at IS NULL
		AND user_id = (SELECT id FROM user_ids WHERE email = $1)`, addr); err != nil {
		t.Fatal(err)
	}
	if r := call(t, http.MethodPost, sso+"/v1/auth/password/reset", "", map[string]string{"token": expired, "new_password": newPassword}, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("reset with an expired token = %d %s; want 400", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, sso+"/v1/auth/password/forgot", "", map[string]string{"email": addr}, nil); r.Status != http.StatusOK {
		t.Fatalf("forgot again: %d %s", r.Status, r.Raw)
	}
	_, token := s.linkToken(t, addr, "/account/reset-password", seen)
	if token == expired {
		t.Fatal("the second reset mail carries the expired token")
	}
	forged := strings.Repeat("A", len(token))
	if r := call(t, http.MethodPost, sso+"/v1/auth/password/reset", "", map[string]string{"token": forged, "new_password": newPassword}, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("reset with a forged token = %d %s; want 400", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, sso+"/v1/auth/password/reset", "", map[string]string{"token": token, "new_password": newPassword}, nil); r.Status != http.StatusOK {
		t.Fatalf("reset = %d %s", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, sso+"/v1/auth/password/reset", "", map[string]string{"token": token, "new_password": newPassword + "!"}, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("the reset token a second time = %d %s; want 400", r.Status, r.Raw)
	}

	if r := call(t, http.MethodGet, sso+"/v1/users/me", oldAccess, nil, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("the old access token after the reset = %d %s; want 401", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, sso+"/v1/auth/validate", "", map[string]string{"token": oldAccess}, nil); r.Body["valid"] != false {
		t.Fatalf("validate of the old access token after the reset: %s; want valid false", r.Raw)
	}
	if r := call(t, http.MethodPost, sso+"/v1/auth/refresh", "", map[string]string{"refresh_token": oldRefresh}, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("the old refresh token after the reset = %d %s; want 401", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, sso+"/v1/auth/login", "", map[string]string{"email": addr, "password": password}, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("the old password after the reset = %d %s; want 401", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, sso+"/v1/auth/login", "", map[string]string{"email": addr, "password": newPassword}, nil); r.Status != http.StatusOK {
		t.Fatalf("the new password = %d %s; want 200", r.Status, r.Raw)
	}
	if !testenv.Eventually(30*time.Second, 200*time.Millisecond, func() bool {
		mails, err := testenv.MailsTo(addr)
		if err != nil {
			return false
		}
		for _, m := range mails {
			if strings.Contains(strings.ToLower(m.Subject), "password") && strings.Contains(strings.ToLower(m.Subject), "changed") {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no password-changed notice reached %s", addr)
	}
	if n := mailCount(t, unknown); n != 0 {
		t.Fatalf("forgot for an unknown address sent %d mails to it", n)
	}
}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d:\n%s", u, resp.StatusCode, b)
	}
	return string(b)
}

func httpPostForm(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
