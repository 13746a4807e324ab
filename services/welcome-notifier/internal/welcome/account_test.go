package welcome_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome/ledgertest"
)

// token is shaped like sso's (base64url), with the characters a query
// string must escape added, to prove the link escapes them.
const token = "Zm9v-YmFy_YmF6+/=&x"

func newAccountService(t *testing.T, ledger welcome.Ledger, sender welcome.Sender) *welcome.AccountService {
	t.Helper()
	s, err := welcome.NewAccountService(ledger, sender, welcome.AccountConfig{From: from, LinkBase: "https://sso.example.test/base/"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func accountMail(kind mail.Kind) welcome.AccountMail {
	return welcome.AccountMail{
		Kind: kind, UserID: userID, EventID: eventID, Email: "ada@example.test",
		Token: token, ExpiresAt: time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC), Method: welcome.MethodChange,
	}
}

func TestAccountMailsCarryTheirLink(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind    mail.Kind
		path    string
		subject string
	}{
		{mail.VerifyEmail, "/base/account/verify-email", "Confirm your e-mail address for ssokit"},
		{mail.PasswordReset, "/base/account/reset-password", "Reset your ssokit password"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			sender := &fakeSender{}
			s := newAccountService(t, ledgertest.NewMemory(), sender)
			d, outcome, err := s.Send(t.Context(), accountMail(tt.kind))
			if err != nil || outcome != welcome.Sent {
				t.Fatalf("Send = %v, %v; want Sent", outcome, err)
			}
			m := sender.sent()[0]
			want := "https://sso.example.test" + tt.path + "?token=" + url.QueryEscape(token)
			if !strings.Contains(m.Body, "\n"+want+"\n") {
				t.Fatalf("body lacks the link %s:\n%s", want, m.Body)
			}
			u, err := url.Parse(want)
			if err != nil || u.Query().Get("token") != token {
				t.Fatalf("the link's token = %q (%v), want the opened token", u.Query().Get("token"), err)
			}
			if !strings.Contains(m.Body, "7 December 2026, 01:00 UTC") {
				t.Errorf("body does not say when the link expires:\n%s", m.Body)
			}
			if m.Subject != tt.subject || m.To.Address != "ada@example.test" || m.To.Name != "" {
				t.Errorf("subject %q, To %+v", m.Subject, m.To)
			}
			if want := string(tt.kind) + "." + eventID + "@ssokit.local"; m.MessageID != want || d.MessageID != want {
				t.Errorf("Message-ID = %q, want %q", m.MessageID, want)
			}
			if d.Kind != tt.kind || d.EventID != eventID || d.UserID != userID {
				t.Errorf("delivery = %+v", d)
			}
		})
	}
}

func TestPasswordChangedSaysHow(t *testing.T) {
	t.Parallel()
	for method, want := range map[string]string{
		welcome.MethodReset:  "was reset through a\nlink",
		welcome.MethodChange: "knew the old password",
		"":                   "was changed.\n",
	} {
		sender := &fakeSender{}
		s := newAccountService(t, ledgertest.NewMemory(), sender)
		m := accountMail(mail.PasswordChanged)
		m.Method, m.Token = method, ""
		if _, _, err := s.Send(t.Context(), m); err != nil {
			t.Fatalf("method %q: %v", method, err)
		}
		body := sender.sent()[0].Body
		if !strings.Contains(body, want) || !strings.Contains(body, "If this was not you, reset your password") || strings.Contains(body, "token=") {
			t.Errorf("method %q: body\n%s", method, body)
		}
	}
}

// TestAccountMailsOncePerEvent: a redelivered event sends nothing; a
// second request of the same user is a second mail.
func TestAccountMailsOncePerEvent(t *testing.T) {
	t.Parallel()
	sender := &fakeSender{}
	ledger := ledgertest.NewMemory()
	s := newAccountService(t, ledger, sender)
	m := accountMail(mail.PasswordReset)
	for i, want := range []welcome.Outcome{welcome.Sent, welcome.AlreadySent} {
		if _, got, err := s.Send(t.Context(), m); err != nil || got != want {
			t.Fatalf("delivery %d = %v, %v; want %v", i, got, err, want)
		}
	}
	second := m
	second.EventID = "9a3a1d0c-6f7e-4a44-b0a6-3e2f5d8c7b10"
	if _, got, err := s.Send(t.Context(), second); err != nil || got != welcome.Sent {
		t.Fatalf("second request = %v, %v; want Sent", got, err)
	}
	if msgs := sender.sent(); len(msgs) != 2 || msgs[0].MessageID == msgs[1].MessageID {
		t.Fatalf("sent %d mails, want 2 with distinct Message-IDs", len(msgs))
	}
	if ledger.EventAttempts(eventID) != 1 || ledger.Attempts(userID) != 0 {
		t.Fatal("the account mail was not recorded by event")
	}
}

func TestAccountMailRejectsInvalidEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*welcome.AccountMail)
	}{
		{"the welcome is not an account mail", func(m *welcome.AccountMail) { m.Kind = mail.Welcome }},
		{"no token", func(m *welcome.AccountMail) { m.Token = "" }},
		{"a token too long", func(m *welcome.AccountMail) { m.Token = strings.Repeat("a", welcome.MaxTokenLength+1) }},
		{"no expiry", func(m *welcome.AccountMail) { m.ExpiresAt = time.Time{} }},
		{"user id not a UUID", func(m *welcome.AccountMail) { m.UserID = "42" }},
		{"event id not a UUID", func(m *welcome.AccountMail) { m.EventID = "" }},
		{"e-mail with a display name", func(m *welcome.AccountMail) { m.Email = "Ada <ada@example.test>" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sender := &fakeSender{}
			s := newAccountService(t, ledgertest.NewMemory(), sender)
			m := accountMail(mail.VerifyEmail)
			tt.edit(&m)
			_, _, err := s.Send(t.Context(), m)
			if !errors.Is(err, welcome.ErrInvalidEvent) {
				t.Fatalf("Send = %v, want ErrInvalidEvent", err)
			}
			if strings.Contains(err.Error(), "ada@example.test") || (m.Token != "" && strings.Contains(err.Error(), m.Token)) {
				t.Fatalf("the error %q shows the address or the token", err)
			}
			if len(sender.sent()) != 0 {
				t.Fatal("an invalid event was mailed")
			}
		})
	}
	bad := accountMail(mail.PasswordChanged)
	bad.Method = "telepathy"
	if _, _, err := newAccountService(t, ledgertest.NewMemory(), &fakeSender{}).Send(t.Context(), bad); !errors.Is(err, welcome.ErrInvalidEvent) {
		t.Fatalf("Send with an unknown method = %v, want ErrInvalidEvent", err)
	}
}

// TestAccountMailErrorsHideSecrets: a mail server that echoes the address
// or the link in its reply does not get them into the error, which is
// logged and copied into dead letters; the error still classifies.
func TestAccountMailErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	link := "https://sso.example.test/base/account/reset-password?token=" + url.QueryEscape(token)
	cause := &sendError{msg: "rcpt to: 550 <ada@example.test> refused; " + link + " " + token, permanent: true}
	s := newAccountService(t, ledgertest.NewMemory(), &fakeSender{err: cause})
	_, _, err := s.Send(t.Context(), accountMail(mail.PasswordReset))
	if !errors.Is(err, welcome.ErrUndeliverable) || !errors.Is(err, cause) {
		t.Fatalf("Send = %v, want ErrUndeliverable wrapping the send error", err)
	}
	for _, secret := range []string{"ada@example.test", token, "token="} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("the error %q shows %q", err, secret)
		}
	}
}

func TestNewAccountServiceChecksTheLinkBase(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"", "/relative", "ftp://x.test", "http://", "http://x.test/?a=b", "http://x.test/#f", "http://u:p@x.test", "127.0.0.1:8000"} {
		if _, err := welcome.NewAccountService(ledgertest.NewMemory(), &fakeSender{}, welcome.AccountConfig{From: from, LinkBase: base}); err == nil {
			t.Errorf("link base %q accepted", base)
		}
	}
	for _, base := range []string{"http://127.0.0.1:8000", "https://sso.example.test/", "https://sso.example.test/prefix"} {
		if _, err := welcome.NewAccountService(ledgertest.NewMemory(), &fakeSender{}, welcome.AccountConfig{From: from, LinkBase: base}); err != nil {
			t.Errorf("link base %q: %v", base, err)
		}
	}
}
