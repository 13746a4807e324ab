package welcome_test

import (
	"errors"
	"io"
	"log/slog"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/welcome-notifier/internal/postgres"
	"github.com/ssokit/platform/services/welcome-notifier/internal/smtp"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

// The integration tests run the use case over its real adapters: the
// PostgreSQL ledger in a database of the test's own and the SMTP sender
// talking to the stack's Mailpit, whose API shows what arrived.

type realWorld struct {
	ledger *postgres.Ledger
}

func newRealWorld(t *testing.T) realWorld {
	t.Helper()
	testenv.Require(t, testenv.SMTPAddr, testenv.HostPort(testenv.MailpitURL), testenv.HostPort(testenv.PGPrimaryDSN))
	db, err := sqlx.Open("postgres", testenv.WithDatabase(testenv.PGPrimaryDSN, testenv.Database(t, "notifier_test")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := postgres.Migrate(testenv.Context(t, 30*time.Second), db); err != nil {
		t.Fatal(err)
	}
	return realWorld{ledger: postgres.NewLedger(db)}
}

func smtpSender(t *testing.T, addr string) *smtp.Sender {
	t.Helper()
	s, err := smtp.NewSender(smtp.Config{Addr: addr, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func realService(t *testing.T, w realWorld, sender welcome.Sender) *welcome.Service {
	t.Helper()
	s, err := welcome.NewService(w.ledger, sender, welcome.Config{
		From:    mail.Address{Name: "ssokit", Address: "welcome@ssokit.local"},
		Subject: "Willkommen bei ssokit, schön dass du da bist",
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newEvent(email, fullName string) *eventsv1.UserRegistered {
	ev := event(email, fullName)
	ev.UserId, ev.EventId = uuid.NewString(), uuid.NewString()
	return ev
}

func TestWelcomeMailArrivesOncePerUser(t *testing.T) {
	w := newRealWorld(t)
	s := realService(t, w, smtpSender(t, testenv.SMTPAddr))
	ctx := testenv.Context(t, time.Minute)
	to := testenv.Mailbox(t, "welcome")
	ev := newEvent(to, "Zoë Ångström")

	if err := s.Handle(ctx, ev, consumer.Metadata{Attempt: 1}); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	found, err := testenv.AwaitMails(to, 1, 10*time.Second)
	if err != nil || len(found) != 1 {
		t.Fatalf("mails to %s = %d (%v), want 1", to, len(found), err)
	}
	got := found[0]
	if got.Subject != "Willkommen bei ssokit, schön dass du da bist" {
		t.Errorf("Subject = %q", got.Subject)
	}
	if got.From != (testenv.MailAddress{Name: "ssokit", Address: "welcome@ssokit.local"}) {
		t.Errorf("From = %+v", got.From)
	}
	if len(got.To) != 1 || got.To[0] != (testenv.MailAddress{Name: "Zoë Ångström", Address: to}) {
		t.Errorf("To = %+v", got.To)
	}
	if want := welcome.MessageID(ev.UserId, "ssokit.local"); got.MessageID != want {
		t.Errorf("Message-ID = %q, want %q", got.MessageID, want)
	}
	text, err := testenv.MailBody(got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, "Hello Zoë Ångström,") || !strings.Contains(text, to) {
		t.Errorf("body = %q, want the greeting with the name and the account", text)
	}
	headers, err := testenv.MailHeaders(got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ct := headers["Content-Type"]; len(ct) != 1 || ct[0] != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}

	// The same event redelivered, then a second event for the same user.
	again := newEvent(to, "Zoë Ångström")
	again.UserId = ev.UserId
	for _, e := range []*eventsv1.UserRegistered{ev, again} {
		if err := s.Handle(ctx, e, consumer.Metadata{Attempt: 1}); err != nil {
			t.Fatalf("Handle of a duplicate: %v", err)
		}
	}
	time.Sleep(300 * time.Millisecond) // let a wrong second mail land before counting
	if found, err := testenv.MailsTo(to); err != nil || len(found) != 1 {
		t.Fatalf("mails to %s after duplicates = %d (%v), want still 1", to, len(found), err)
	}
	r, err := w.ledger.Get(ctx, ev.UserId)
	if err != nil || r.Status != "sent" || r.Attempts != 1 || r.EventID != ev.EventId {
		t.Fatalf("ledger = %+v, %v; want sent once by the first event", r, err)
	}
}

func TestWelcomeMailWithoutNameGreetsByLocalPart(t *testing.T) {
	w := newRealWorld(t)
	s := realService(t, w, smtpSender(t, testenv.SMTPAddr))
	ctx := testenv.Context(t, time.Minute)
	to := testenv.Mailbox(t, "noname")
	if err := s.Handle(ctx, newEvent(to, ""), consumer.Metadata{Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	found, err := testenv.AwaitMails(to, 1, 10*time.Second)
	if err != nil || len(found) != 1 {
		t.Fatalf("mails = %d (%v), want 1", len(found), err)
	}
	text, err := testenv.MailBody(found[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	local, _, _ := strings.Cut(to, "@")
	if !strings.HasPrefix(text, "Hello "+local+",") {
		t.Fatalf("body = %q, want a greeting by %q", text, local)
	}
}

func TestWelcomeMailAfterSMTPOutage(t *testing.T) {
	w := newRealWorld(t)
	ctx := testenv.Context(t, time.Minute)
	to := testenv.Mailbox(t, "outage")
	ev := newEvent(to, "Grace Hopper")

	// Nothing listens on port 1: the shared Mailpit stays up for others.
	down := realService(t, w, smtpSender(t, "127.0.0.1:1"))
	err := down.Handle(ctx, ev, consumer.Metadata{Attempt: 1})
	var smtpErr *smtp.Error
	if !errors.As(err, &smtpErr) || smtpErr.Step != smtp.StepConnect {
		t.Fatalf("Handle with SMTP down = %v, want an SMTP connect error", err)
	}
	if errors.Is(err, consumer.ErrPermanent) {
		t.Fatalf("Handle with SMTP down = %v: an outage must be retried, not dead-lettered", err)
	}
	r, err := w.ledger.Get(ctx, ev.UserId)
	if err != nil || r.Status != "sending" || r.Attempts != 1 || r.SentAt.Valid {
		t.Fatalf("ledger after the failure = %+v, %v; want not sent, 1 attempt", r, err)
	}

	up := realService(t, w, smtpSender(t, testenv.SMTPAddr))
	for attempt := 2; attempt <= 3; attempt++ {
		if err := up.Handle(ctx, ev, consumer.Metadata{Attempt: attempt}); err != nil {
			t.Fatalf("Handle attempt %d: %v", attempt, err)
		}
	}
	if _, err := testenv.AwaitMails(to, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if found, err := testenv.MailsTo(to); err != nil || len(found) != 1 {
		t.Fatalf("mails after recovery = %d (%v), want 1", len(found), err)
	}
	r, err = w.ledger.Get(ctx, ev.UserId)
	if err != nil || r.Status != "sent" || r.Attempts != 2 || r.LastError != nil {
		t.Fatalf("ledger after recovery = %+v, %v; want sent on attempt 2", r, err)
	}
}
