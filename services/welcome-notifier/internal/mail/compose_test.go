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
	body, err := mail.ParseTemplate("{{.Name}}|{{.FullName}}|{{.Email}}|{{.UserID}}|{{.RegisteredAt.Year}}")
	if err != nil {
		t.Fatal(err)
	}
	c, err := mail.NewComposer(mail.Welcome, from, "Welcome", body)
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		fullName string
		toName   string
		body     string
	}{
		{"with a name", "Ada Lovelace", "Ada Lovelace", "Ada Lovelace|Ada Lovelace|ada.l@example.test|" + userID + "|2026"},
		{"without a name", "", "", "ada.l||ada.l@example.test|" + userID + "|2026"},
		{"name with a line break", "Ada\r\nBcc: x@y", "Ada Bcc: x@y", "Ada Bcc: x@y|Ada Bcc: x@y|ada.l@example.test|" + userID + "|2026"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := c.Compose(mail.Recipient{UserID: userID, Email: "ada.l@example.test", FullName: tt.fullName}, mail.Data{RegisteredAt: date}, date)
			if err != nil {
				t.Fatal(err)
			}
			want := mail.Message{
				From:      from,
				To:        netmail.Address{Name: tt.toName, Address: "ada.l@example.test"},
				Subject:   "Welcome",
				Body:      tt.body,
				MessageID: "welcome." + userID + "@ssokit.local",
				Date:      date,
			}
			if m != want {
				t.Fatalf("Compose = %+v, want %+v", m, want)
			}
		})
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
