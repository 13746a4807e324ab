package welcome_test

import (
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome/ledgertest"
)

const (
	userID  = "5d1c8f0e-2f4b-4a57-a3e8-0c6f1f2b9e42"
	eventID = "0b6f6f5e-7a43-4b87-9d36-5f3c0d9f1a01"
)

var from = netmail.Address{Name: "ssokit", Address: "welcome@ssokit.local"}

func registration(email string) welcome.Registration {
	return welcome.Registration{
		EventID:      eventID,
		UserID:       userID,
		Email:        email,
		RegisteredAt: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
	}
}

func newService(t *testing.T, ledger welcome.Ledger, sender welcome.Sender, cfg welcome.Config) *welcome.Service {
	t.Helper()
	if cfg.From.Address == "" {
		cfg.From = from
	}
	if cfg.Subject == "" {
		cfg.Subject = "Welcome to ssokit"
	}
	s, err := welcome.NewService(ledger, sender, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestWelcomeSendsTheMail: the welcome greets without a name and puts
// none in the To header: a registrant's full_name is text they chose, and
// anyone can register someone else's address.
func TestWelcomeSendsTheMail(t *testing.T) {
	t.Parallel()
	sender := &fakeSender{}
	s := newService(t, ledgertest.NewMemory(), sender, welcome.Config{})
	d, outcome, err := s.Welcome(t.Context(), registration("ada.l@example.test"))
	if err != nil || outcome != welcome.Sent {
		t.Fatalf("Welcome = %v, %v; want Sent", outcome, err)
	}
	msgs := sender.sent()
	if len(msgs) != 1 {
		t.Fatalf("sent %d mails, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != from {
		t.Errorf("From = %v, want %v", m.From, from)
	}
	if want := (netmail.Address{Address: "ada.l@example.test"}); m.To != want {
		t.Errorf("To = %+v, want %+v", m.To, want)
	}
	if m.Subject != "Welcome to ssokit" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if want := "welcome." + userID + "@ssokit.local"; m.MessageID != want || d.MessageID != want {
		t.Errorf("MessageID = %q (delivery %q), want %q", m.MessageID, d.MessageID, want)
	}
	if d.UserID != userID || d.EventID != eventID || d.Email != "ada.l@example.test" || d.Kind != mail.Welcome {
		t.Errorf("delivery = %+v, want the registration's ids and address", d)
	}
	if !strings.HasPrefix(m.Body, "Hello,\n") {
		t.Errorf("body starts %q, want a greeting without a name", firstLine(m.Body))
	}
	if !strings.Contains(m.Body, "ada.l@example.test") {
		t.Errorf("body does not name the account: %q", m.Body)
	}
	if _, err := m.Bytes(); err != nil {
		t.Errorf("the message does not compose: %v", err)
	}
}

func TestWelcomeSendsOncePerUser(t *testing.T) {
	t.Parallel()
	sender := &fakeSender{}
	s := newService(t, ledgertest.NewMemory(), sender, welcome.Config{})
	r := registration("ada@example.test")
	second := registration("ada@example.test")
	second.EventID = "9a3a1d0c-6f7e-4a44-b0a6-3e2f5d8c7b10"
	for i, tt := range []struct {
		r    welcome.Registration
		want welcome.Outcome
	}{{r, welcome.Sent}, {r, welcome.AlreadySent}, {second, welcome.AlreadySent}} {
		if _, got, err := s.Welcome(t.Context(), tt.r); err != nil || got != tt.want {
			t.Fatalf("Welcome #%d = %v, %v; want %v", i+1, got, err, tt.want)
		}
	}
	if n := len(sender.sent()); n != 1 {
		t.Fatalf("sent %d mails for one user, want 1", n)
	}
}

func TestWelcomeRefusesInvalidRegistrations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*welcome.Registration)
	}{
		{"no user id", func(r *welcome.Registration) { r.UserID = "" }},
		{"user id not a uuid", func(r *welcome.Registration) { r.UserID = "42" }},
		{"user id in braces", func(r *welcome.Registration) { r.UserID = "{" + userID + "}" }},
		{"no event id", func(r *welcome.Registration) { r.EventID = "" }},
		{"no e-mail", func(r *welcome.Registration) { r.Email = "" }},
		{"e-mail not an address", func(r *welcome.Registration) { r.Email = "ada" }},
		{"e-mail with a display name", func(r *welcome.Registration) { r.Email = "Ada <ada@example.test>" }},
		{"e-mail with a line break", func(r *welcome.Registration) { r.Email = "ada@example.test\r\nBcc: x@y" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sender := &fakeSender{}
			ledger := ledgertest.NewMemory()
			s := newService(t, ledger, sender, welcome.Config{})
			r := registration("ada@example.test")
			tt.edit(&r)
			if _, _, err := s.Welcome(t.Context(), r); !errors.Is(err, welcome.ErrInvalidEvent) {
				t.Fatalf("Welcome = %v, want ErrInvalidEvent", err)
			}
			if n := len(sender.sent()); n != 0 {
				t.Fatalf("sent %d mails for an invalid registration", n)
			}
			if n := ledger.Attempts(userID); n != 0 {
				t.Fatalf("ledger counted %d attempts for an invalid registration", n)
			}
		})
	}
}

// sendError is an error of the Sender port: Permanent says whether the
// mail can ever be delivered, Transient whether it can once the server
// is back.
type sendError struct {
	msg       string
	permanent bool
}

func (e *sendError) Error() string   { return e.msg }
func (e *sendError) Permanent() bool { return e.permanent }
func (e *sendError) Transient() bool { return !e.permanent }

func TestWelcomeClassifiesSendFailures(t *testing.T) {
	t.Parallel()
	database := errors.New("connection refused")
	tests := []struct {
		name          string
		ledgerErr     error
		sendErr       error
		undeliverable bool
		unavailable   bool
	}{
		{"recipient rejected", nil, &sendError{"rcpt to: 550 no such user", true}, true, false},
		{"mailbox busy", nil, &sendError{"rcpt to: 450 try later", false}, false, true},
		{"unclassified send failure", nil, errors.New("connect: connection refused"), false, false},
		{"database down", fmt.Errorf("%w: %w", welcome.ErrUnavailable, database), nil, false, true},
		{"unclassified ledger failure", database, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ledger := ledgertest.NewMemory()
			ledger.FailWith(tt.ledgerErr)
			s := newService(t, ledger, &fakeSender{err: tt.sendErr}, welcome.Config{})
			_, _, err := s.Welcome(t.Context(), registration("ada@example.test"))
			if err == nil {
				t.Fatal("Welcome succeeded")
			}
			if errors.Is(err, welcome.ErrUndeliverable) != tt.undeliverable {
				t.Fatalf("Welcome = %v; undeliverable %v, want %v", err, !tt.undeliverable, tt.undeliverable)
			}
			if errors.Is(err, welcome.ErrUnavailable) != tt.unavailable {
				t.Fatalf("Welcome = %v; unavailable %v, want %v", err, !tt.unavailable, tt.unavailable)
			}
			if errors.Is(err, welcome.ErrInvalidEvent) {
				t.Fatalf("Welcome = %v: a valid registration reported invalid", err)
			}
			for _, cause := range []error{tt.sendErr, tt.ledgerErr} {
				if cause != nil && !errors.Is(err, cause) {
					t.Errorf("Welcome = %v, does not wrap %v", err, cause)
				}
			}
		})
	}
}

func TestWelcomeRetriesAfterTemporaryFailure(t *testing.T) {
	t.Parallel()
	ledger := ledgertest.NewMemory()
	sender := &fakeSender{err: errors.New("connect: connection refused")}
	s := newService(t, ledger, sender, welcome.Config{})
	r := registration("ada@example.test")
	if _, _, err := s.Welcome(t.Context(), r); err == nil {
		t.Fatal("first attempt succeeded while the mail server is down")
	}
	sender.setErr(nil)
	if _, outcome, err := s.Welcome(t.Context(), r); err != nil || outcome != welcome.Sent {
		t.Fatalf("second attempt = %v, %v; want Sent", outcome, err)
	}
	if n := len(sender.sent()); n != 1 {
		t.Fatalf("sent %d mails, want 1", n)
	}
	if n := ledger.Attempts(userID); n != 2 {
		t.Fatalf("ledger counted %d attempts, want 2", n)
	}
}

func TestEveryAttemptCarriesTheSameMessageID(t *testing.T) {
	t.Parallel()
	want := mail.Welcome.MessageID(userID, "ssokit.local")
	sender := &fakeSender{}
	for i := range 2 {
		s := newService(t, ledgertest.NewMemory(), sender, welcome.Config{})
		r := registration("ada@example.test")
		if i == 1 {
			r.UserID = strings.ToUpper(r.UserID)
			r.EventID = "9a3a1d0c-6f7e-4a44-b0a6-3e2f5d8c7b10"
		}
		if _, _, err := s.Welcome(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	msgs := sender.sent()
	if len(msgs) != 2 || msgs[0].MessageID != msgs[1].MessageID || msgs[0].MessageID != want {
		t.Fatalf("Message-IDs = %q, %q; want both %q", msgs[0].MessageID, msgs[1].MessageID, want)
	}
}

func TestWelcomeUsesTheConfiguredTemplate(t *testing.T) {
	t.Parallel()
	tmpl, err := mail.ParseTemplate("Dear {{.Email}}")
	if err != nil {
		t.Fatal(err)
	}
	sender := &fakeSender{}
	s := newService(t, ledgertest.NewMemory(), sender, welcome.Config{Body: tmpl, Subject: "Hallo und willkommen"})
	if _, _, err := s.Welcome(t.Context(), registration("grace@example.test")); err != nil {
		t.Fatal(err)
	}
	m := sender.sent()[0]
	if m.Body != "Dear grace@example.test" || m.Subject != "Hallo und willkommen" {
		t.Fatalf("mail = %q / %q, want the configured subject and template", m.Subject, m.Body)
	}
}

func TestWelcomeRefusesAMailItCannotRender(t *testing.T) {
	t.Parallel()
	// The sample data at parse time has a link; a welcome has none, and
	// the empty string cannot be indexed.
	tmpl, err := mail.ParseTemplate("{{if not .Link}}{{index .Email 50}}{{end}}Hi")
	if err != nil {
		t.Fatal(err)
	}
	sender := &fakeSender{}
	ledger := ledgertest.NewMemory()
	s := newService(t, ledger, sender, welcome.Config{Body: tmpl})
	if _, _, err := s.Welcome(t.Context(), registration("grace@example.test")); !errors.Is(err, welcome.ErrUndeliverable) {
		t.Fatalf("Welcome = %v, want ErrUndeliverable", err)
	}
	if len(sender.sent()) != 0 || ledger.Attempts(userID) != 0 {
		t.Fatal("a mail that cannot render reached the ledger or the sender")
	}
}

func TestNewServiceRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []welcome.Config{
		{From: netmail.Address{Address: "nodomain"}, Subject: "s"},
		{From: from},
	} {
		if _, err := welcome.NewService(ledgertest.NewMemory(), &fakeSender{}, cfg); err == nil {
			t.Errorf("NewService(%+v) succeeded", cfg)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
