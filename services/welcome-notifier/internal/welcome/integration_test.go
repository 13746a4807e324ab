package welcome_test

import (
	"errors"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/testenv"
	wmail "github.com/ssokit/platform/services/welcome-notifier/internal/mail"
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
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newRegistration(email string) welcome.Registration {
	r := registration(email)
	r.UserID, r.EventID = uuid.NewString(), uuid.NewString()
	return r
}

func TestWelcomeMailArrivesOncePerUser(t *testing.T) {
	t.Parallel()
	w := newRealWorld(t)
	s := realService(t, w, smtpSender(t, testenv.SMTPAddr))
	ctx := testenv.Context(t, time.Minute)
	to := testenv.Mailbox(t, "welcome")
	ev := newRegistration(to)

	if err := welcomeErr(s.Welcome(ctx, ev)); err != nil {
		t.Fatalf("Welcome: %v", err)
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
	if len(got.To) != 1 || got.To[0] != (testenv.MailAddress{Address: to}) {
		t.Errorf("To = %+v", got.To)
	}
	if want := wmail.Welcome.MessageID(ev.UserID, "ssokit.local"); got.MessageID != want {
		t.Errorf("Message-ID = %q, want %q", got.MessageID, want)
	}
	text, err := testenv.MailBody(got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, "Hello,") || !strings.Contains(text, to) {
		t.Errorf("body = %q, want a greeting without a name and the account", text)
	}
	headers, err := testenv.MailHeaders(got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ct := headers["Content-Type"]; len(ct) != 1 || ct[0] != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}

	// The same event redelivered, then a second event for the same user.
	again := newRegistration(to)
	again.UserID = ev.UserID
	for _, e := range []welcome.Registration{ev, again} {
		if _, outcome, err := s.Welcome(ctx, e); err != nil || outcome != welcome.AlreadySent {
			t.Fatalf("Welcome of a duplicate = %v, %v; want AlreadySent", outcome, err)
		}
	}
	if found := mailsBeforeMarker(t, to); len(found) != 1 {
		t.Fatalf("mails to %s after duplicates = %d, want still 1", to, len(found))
	}
	r, err := w.ledger.Get(ctx, ev.UserID)
	if err != nil || r.Status != "sent" || r.Attempts != 1 || r.EventID != ev.EventID {
		t.Fatalf("ledger = %+v, %v; want sent once by the first event", r, err)
	}
}

func TestWelcomeMailAfterSMTPOutage(t *testing.T) {
	t.Parallel()
	w := newRealWorld(t)
	ctx := testenv.Context(t, time.Minute)
	to := testenv.Mailbox(t, "outage")
	ev := newRegistration(to)

	// Nothing listens on port 1: the shared Mailpit stays up for others.
	down := realService(t, w, smtpSender(t, "127.0.0.1:1"))
	err := welcomeErr(down.Welcome(ctx, ev))
	var smtpErr *smtp.Error
	if !errors.As(err, &smtpErr) || smtpErr.Step != smtp.StepConnect {
		t.Fatalf("Welcome with SMTP down = %v, want an SMTP connect error", err)
	}
	if errors.Is(err, welcome.ErrUndeliverable) {
		t.Fatalf("Welcome with SMTP down = %v: an outage must be retried, not dead-lettered", err)
	}
	r, err := w.ledger.Get(ctx, ev.UserID)
	if err != nil || r.Status != "sending" || r.Attempts != 1 || r.SentAt.Valid {
		t.Fatalf("ledger after the failure = %+v, %v; want not sent, 1 attempt", r, err)
	}

	up := realService(t, w, smtpSender(t, testenv.SMTPAddr))
	for attempt := 2; attempt <= 3; attempt++ {
		if err := welcomeErr(up.Welcome(ctx, ev)); err != nil {
			t.Fatalf("Welcome attempt %d: %v", attempt, err)
		}
	}
	if _, err := testenv.AwaitMails(to, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if found := mailsBeforeMarker(t, to); len(found) != 1 {
		t.Fatalf("mails after recovery = %d, want 1", len(found))
	}
	r, err = w.ledger.Get(ctx, ev.UserID)
	if err != nil || r.Status != "sent" || r.Attempts != 2 || r.LastError != nil {
		t.Fatalf("ledger after recovery = %+v, %v; want sent on attempt 2", r, err)
	}
}

// mailsBeforeMarker returns what reached to before a marker mail the test
// sends now through the same server, and leaves the marker out. Once the
// marker is in Mailpit, so is every mail sent before it: waiting for it
// replaces waiting a while for a wrong mail that might still land.
func mailsBeforeMarker(t *testing.T, to string) []testenv.Mail {
	t.Helper()
	marker := uuid.NewString() + "@marker.test"
	if err := smtpSender(t, testenv.SMTPAddr).Send(t.Context(), wmail.Message{
		From: mail.Address{Address: "marker@example.test"}, To: mail.Address{Address: to},
		Subject: "marker", Body: "marker", MessageID: marker,
	}); err != nil {
		t.Fatalf("marker mail: %v", err)
	}
	var found []testenv.Mail
	if !testenv.Eventually(10*time.Second, 50*time.Millisecond, func() bool {
		all, err := testenv.MailsTo(to)
		if err != nil {
			return false
		}
		found = found[:0]
		seen := false
		for _, m := range all {
			if m.MessageID == marker {
				seen = true
			} else {
				found = append(found, m)
			}
		}
		return seen
	}) {
		t.Fatalf("the marker mail never reached %s", to)
	}
	return found
}

// welcomeErr is the error of a Welcome call, for tests that check only it.
func welcomeErr(_ welcome.Delivery, _ welcome.Outcome, err error) error { return err }
