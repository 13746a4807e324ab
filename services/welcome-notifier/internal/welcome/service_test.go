package welcome_test

import (
	"errors"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/services/welcome-notifier/internal/smtp"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

const (
	userID  = "5d1c8f0e-2f4b-4a57-a3e8-0c6f1f2b9e42"
	eventID = "0b6f6f5e-7a43-4b87-9d36-5f3c0d9f1a01"
)

var from = mail.Address{Name: "ssokit", Address: "welcome@ssokit.local"}

func event(email, fullName string) *eventsv1.UserRegistered {
	return &eventsv1.UserRegistered{
		EventId:      eventID,
		UserId:       userID,
		Email:        email,
		FullName:     fullName,
		RegisteredAt: timestamppb.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)),
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
	s, err := welcome.NewService(ledger, sender, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHandleSendsTheWelcomeMail(t *testing.T) {
	tests := []struct {
		name     string
		fullName string
		toName   string // in the To header
		greeting string // in the body
	}{
		{"with a name", "Ada Lovelace", "Ada Lovelace", "Hello Ada Lovelace,"},
		{"without a name", "", "", "Hello ada.l,"},
		{"blank name", "  \t ", "", "Hello ada.l,"},
		{"name with a line break", "Ada\r\nBcc: x@y", "Ada Bcc: x@y", "Hello Ada Bcc: x@y,"},
		{"non-ascii name", "Zoë  Ångström", "Zoë Ångström", "Hello Zoë Ångström,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sender := &fakeSender{}
			s := newService(t, newMemLedger(), sender, welcome.Config{})
			if err := s.Handle(t.Context(), event("ada.l@example.test", tt.fullName), consumer.Metadata{Attempt: 1}); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			msgs := sender.sent()
			if len(msgs) != 1 {
				t.Fatalf("sent %d mails, want 1", len(msgs))
			}
			m := msgs[0]
			if m.From != from {
				t.Errorf("From = %v, want %v", m.From, from)
			}
			if want := (mail.Address{Name: tt.toName, Address: "ada.l@example.test"}); m.To != want {
				t.Errorf("To = %+v, want %+v", m.To, want)
			}
			if m.Subject != "Welcome to ssokit" {
				t.Errorf("Subject = %q", m.Subject)
			}
			if want := "welcome." + userID + "@ssokit.local"; m.MessageID != want {
				t.Errorf("MessageID = %q, want %q", m.MessageID, want)
			}
			if !strings.HasPrefix(m.Body, tt.greeting+"\n") {
				t.Errorf("body starts %q, want %q", firstLine(m.Body), tt.greeting)
			}
			if !strings.Contains(m.Body, "ada.l@example.test") {
				t.Errorf("body does not name the account: %q", m.Body)
			}
			if _, err := m.Compose(); err != nil {
				t.Errorf("the message does not compose: %v", err)
			}
		})
	}
}

func TestHandleSendsOncePerUser(t *testing.T) {
	sender := &fakeSender{}
	reg := prometheus.NewRegistry()
	s := newService(t, newMemLedger(), sender, welcome.Config{Metrics: reg})
	ev := event("ada@example.test", "Ada")
	second := event("ada@example.test", "Ada")
	second.EventId = "9a3a1d0c-6f7e-4a44-b0a6-3e2f5d8c7b10"
	for i, e := range []*eventsv1.UserRegistered{ev, ev, second} {
		if err := s.Handle(t.Context(), e, consumer.Metadata{Attempt: 1}); err != nil {
			t.Fatalf("Handle #%d: %v", i+1, err)
		}
	}
	if n := len(sender.sent()); n != 1 {
		t.Fatalf("sent %d mails for one user, want 1", n)
	}
	assertCount(t, reg, "sent", 1)
	assertCount(t, reg, "duplicate", 2)
}

func TestHandleRefusesInvalidEvents(t *testing.T) {
	tests := []struct {
		name string
		edit func(*eventsv1.UserRegistered)
	}{
		{"no user id", func(e *eventsv1.UserRegistered) { e.UserId = "" }},
		{"user id not a uuid", func(e *eventsv1.UserRegistered) { e.UserId = "42" }},
		{"user id in braces", func(e *eventsv1.UserRegistered) { e.UserId = "{" + userID + "}" }},
		{"no event id", func(e *eventsv1.UserRegistered) { e.EventId = "" }},
		{"no e-mail", func(e *eventsv1.UserRegistered) { e.Email = "" }},
		{"e-mail not an address", func(e *eventsv1.UserRegistered) { e.Email = "ada" }},
		{"e-mail with a display name", func(e *eventsv1.UserRegistered) { e.Email = "Ada <ada@example.test>" }},
		{"e-mail with a line break", func(e *eventsv1.UserRegistered) { e.Email = "ada@example.test\r\nBcc: x@y" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sender := &fakeSender{}
			reg := prometheus.NewRegistry()
			s := newService(t, newMemLedger(), sender, welcome.Config{Metrics: reg})
			ev := event("ada@example.test", "Ada")
			tt.edit(ev)
			err := s.Handle(t.Context(), ev, consumer.Metadata{Attempt: 1})
			if !errors.Is(err, consumer.ErrPermanent) || !errors.Is(err, welcome.ErrInvalidEvent) {
				t.Fatalf("Handle = %v, want ErrPermanent and ErrInvalidEvent", err)
			}
			if n := len(sender.sent()); n != 0 {
				t.Fatalf("sent %d mails for an invalid event", n)
			}
			assertCount(t, reg, "rejected", 1)
		})
	}
	t.Run("nil event", func(t *testing.T) {
		s := newService(t, newMemLedger(), &fakeSender{}, welcome.Config{})
		if err := s.Handle(t.Context(), nil, consumer.Metadata{}); !errors.Is(err, welcome.ErrInvalidEvent) {
			t.Fatalf("Handle(nil) = %v, want ErrInvalidEvent", err)
		}
	})
}

func TestHandleClassifiesSendFailures(t *testing.T) {
	database := errors.New("connection refused")
	tests := []struct {
		name      string
		ledgerErr error
		sendErr   error
		permanent bool
		want      error
	}{
		{"recipient rejected", nil, &smtp.Error{Step: smtp.StepRcpt, Code: 550, Err: errors.New("no such user")}, true, welcome.ErrUndeliverable},
		{"mailbox busy", nil, &smtp.Error{Step: smtp.StepRcpt, Code: 450, Err: errors.New("try later")}, false, nil},
		{"server down", nil, &smtp.Error{Step: smtp.StepConnect, Err: errors.New("connection refused")}, false, nil},
		{"our sender rejected", nil, &smtp.Error{Step: smtp.StepMail, Code: 553, Err: errors.New("not allowed")}, false, nil},
		{"database down", database, nil, false, database},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ledger := newMemLedger()
			ledger.err = tt.ledgerErr
			reg := prometheus.NewRegistry()
			s := newService(t, ledger, &fakeSender{err: tt.sendErr}, welcome.Config{Metrics: reg})
			err := s.Handle(t.Context(), event("ada@example.test", "Ada"), consumer.Metadata{Attempt: 1})
			if err == nil {
				t.Fatal("Handle succeeded")
			}
			if errors.Is(err, consumer.ErrPermanent) != tt.permanent {
				t.Fatalf("Handle = %v; permanent %v, want %v", err, !tt.permanent, tt.permanent)
			}
			if tt.sendErr != nil && !errors.Is(err, tt.sendErr) {
				t.Errorf("Handle = %v, does not wrap the SMTP error", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Handle = %v, want %v", err, tt.want)
			}
			outcome := "failed"
			if tt.permanent {
				outcome = "rejected"
			}
			assertCount(t, reg, outcome, 1)
		})
	}
}

func TestHandleRetriesAfterTemporaryFailure(t *testing.T) {
	ledger := newMemLedger()
	sender := &fakeSender{err: &smtp.Error{Step: smtp.StepConnect, Err: errors.New("refused")}}
	s := newService(t, ledger, sender, welcome.Config{})
	ev := event("ada@example.test", "Ada")
	if err := s.Handle(t.Context(), ev, consumer.Metadata{Attempt: 1}); err == nil {
		t.Fatal("first attempt succeeded while SMTP is down")
	}
	sender.err = nil
	if err := s.Handle(t.Context(), ev, consumer.Metadata{Attempt: 2}); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	if n := len(sender.sent()); n != 1 {
		t.Fatalf("sent %d mails, want 1", n)
	}
	if n := ledger.attempts[userID]; n != 2 {
		t.Fatalf("ledger counted %d attempts, want 2", n)
	}
}

func TestMessageIDIsDeterministic(t *testing.T) {
	a := welcome.MessageID(userID, "ssokit.local")
	if a != "welcome."+userID+"@ssokit.local" {
		t.Fatalf("MessageID = %q", a)
	}
	if b := welcome.MessageID(strings.ToUpper(userID), "ssokit.local"); b != a {
		t.Fatalf("MessageID of the upper-case id = %q, want %q", b, a)
	}
	if c := welcome.MessageID("9a3a1d0c-6f7e-4a44-b0a6-3e2f5d8c7b10", "ssokit.local"); c == a {
		t.Fatal("two users share a Message-ID")
	}

	// Every attempt for one user, whichever event, carries the same id.
	sender := &fakeSender{}
	for i := range 2 {
		s := newService(t, newMemLedger(), sender, welcome.Config{})
		ev := event("ada@example.test", "Ada")
		if i == 1 {
			ev.UserId = strings.ToUpper(ev.UserId)
			ev.EventId = "9a3a1d0c-6f7e-4a44-b0a6-3e2f5d8c7b10"
		}
		if err := s.Handle(t.Context(), ev, consumer.Metadata{}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := sender.sent()
	if len(msgs) != 2 || msgs[0].MessageID != msgs[1].MessageID || msgs[0].MessageID != a {
		t.Fatalf("Message-IDs = %q, %q; want both %q", msgs[0].MessageID, msgs[1].MessageID, a)
	}
}

func TestTemplates(t *testing.T) {
	data := welcome.TemplateData{Name: "Ada Lovelace", FullName: "Ada Lovelace", Email: "ada@example.test", UserID: userID}
	body, err := welcome.DefaultTemplate().Render(data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(body, "Hello Ada Lovelace,\n") || !strings.Contains(body, "ada@example.test") {
		t.Fatalf("default body = %q", body)
	}

	custom := filepath.Join(t.TempDir(), "welcome.tmpl")
	if err := os.WriteFile(custom, []byte("Hi {{.Name}} ({{.Email}}){{if .FullName}}, full name on file{{end}}"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl, err := welcome.LoadTemplate(custom)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		data welcome.TemplateData
		want string
	}{
		{data, "Hi Ada Lovelace (ada@example.test), full name on file"},
		{welcome.TemplateData{Name: "ada", Email: "ada@example.test"}, "Hi ada (ada@example.test)"},
	} {
		if got, err := tmpl.Render(tt.data); err != nil || got != tt.want {
			t.Errorf("Render = %q, %v; want %q", got, err, tt.want)
		}
	}

	if got, err := welcome.LoadTemplate(""); err != nil || got == nil {
		t.Fatalf("LoadTemplate(\"\") = %v, %v; want the default", got, err)
	}
	if _, err := welcome.LoadTemplate(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadTemplate(missing) = %v, want ErrNotExist", err)
	}
	for _, bad := range []string{"Hi {{.Name", "Hi {{.Nickname}}"} {
		if _, err := welcome.ParseTemplate(bad); err == nil {
			t.Errorf("ParseTemplate(%q) succeeded", bad)
		}
	}
}

func TestHandleUsesTheConfiguredTemplate(t *testing.T) {
	tmpl, err := welcome.ParseTemplate("Dear {{.Name}}")
	if err != nil {
		t.Fatal(err)
	}
	sender := &fakeSender{}
	s := newService(t, newMemLedger(), sender, welcome.Config{Body: tmpl, Subject: "Hallo und willkommen"})
	if err := s.Handle(t.Context(), event("grace@example.test", ""), consumer.Metadata{}); err != nil {
		t.Fatal(err)
	}
	m := sender.sent()[0]
	if m.Body != "Dear grace" || m.Subject != "Hallo und willkommen" {
		t.Fatalf("mail = %q / %q, want the configured subject and template", m.Subject, m.Body)
	}
}

func TestNewServiceRejectsBadConfig(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, cfg := range []welcome.Config{
		{From: mail.Address{Address: "nodomain"}, Subject: "s"},
		{From: from},
	} {
		if _, err := welcome.NewService(newMemLedger(), &fakeSender{}, cfg, log); err == nil {
			t.Errorf("NewService(%+v) succeeded", cfg)
		}
	}
}

func assertCount(t *testing.T, reg *prometheus.Registry, outcome string, want float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "welcome_notifier_mails_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					got = m.GetCounter().GetValue()
				}
			}
		}
	}
	if got != want {
		t.Errorf("welcome_notifier_mails_total{outcome=%q} = %v, want %v", outcome, got, want)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
