package mail_test

import (
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
)

func TestMessageIDIsDeterministic(t *testing.T) {
	t.Parallel()
	a := mail.Welcome.MessageID(userID, "ssokit.local")
	if a != "welcome."+userID+"@ssokit.local" {
		t.Fatalf("MessageID = %q", a)
	}
	if b := mail.Welcome.MessageID(strings.ToUpper(userID), "ssokit.local"); b != a {
		t.Fatalf("MessageID of the upper-case id = %q, want %q", b, a)
	}
	if c := mail.Welcome.MessageID("9a3a1d0c-6f7e-4a44-b0a6-3e2f5d8c7b10", "ssokit.local"); c == a {
		t.Fatal("two users share a Message-ID")
	}
	if d := mail.Kind("verification").MessageID(userID, "ssokit.local"); d == a {
		t.Fatal("two kinds of mail to one user share a Message-ID")
	}
}

func TestComposerCompose(t *testing.T) {
	t.Parallel()
	from := netmail.Address{Name: "ssokit", Address: "welcome@ssokit.local"}
	body, err := mail.ParseTemplate("{{.Email}}|{{.UserID}}|{{.RegisteredAt.Year}}|{{.Link}}|{{.Method}}")
	if err != nil {
		t.Fatal(err)
	}
	c, err := mail.NewComposer(mail.Welcome, from, "Welcome", body)
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	m, err := c.Compose(userID, mail.Recipient{UserID: userID, Email: "ada.l@example.test"},
		mail.Data{RegisteredAt: date, Link: "http://x/y?token=t", Method: "reset"}, date)
	if err != nil {
		t.Fatal(err)
	}
	want := mail.Message{
		From:      from,
		To:        netmail.Address{Address: "ada.l@example.test"},
		Subject:   "Welcome",
		Body:      "ada.l@example.test|" + userID + "|2026|http://x/y?token=t|reset",
		MessageID: "welcome." + userID + "@ssokit.local",
		Date:      date,
	}
	if m != want {
		t.Fatalf("Compose = %+v, want %+v", m, want)
	}
}

// TestAccountMailsAreKeyedByEvent: an account mail's Message-ID names the
// event that asked for it, so two requests of one user are two mails.
func TestAccountMailsAreKeyedByEvent(t *testing.T) {
	t.Parallel()
	c, err := mail.NewComposer(mail.PasswordReset, netmail.Address{Address: "welcome@ssokit.local"}, mail.PasswordReset.Subject(), nil)
	if err != nil {
		t.Fatal(err)
	}
	const eventID = "0b8f1c8e-0000-4000-8000-000000000001"
	m, err := c.Compose(eventID, mail.Recipient{UserID: userID, Email: "ada@example.test"},
		mail.Data{Link: "http://127.0.0.1:8000/account/reset-password?token=abc", ExpiresAt: time.Now()}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if m.MessageID != "password-reset."+eventID+"@ssokit.local" || m.Subject != "Reset your ssokit password" {
		t.Fatalf("Message-ID %q, subject %q", m.MessageID, m.Subject)
	}
	if !mail.PasswordReset.PerEvent() || mail.Welcome.PerEvent() {
		t.Fatal("account mails must be per event and the welcome per user")
	}
}

func TestNewComposerRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		from    string
		subject string
	}{{"nodomain", "s"}, {"welcome@", "s"}, {"welcome@ssokit.local", ""}} {
		if _, err := mail.NewComposer(mail.Welcome, netmail.Address{Address: tt.from}, tt.subject, nil); err == nil {
			t.Errorf("NewComposer(%q, %q) succeeded", tt.from, tt.subject)
		}
	}
}
