package postgres_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
	"github.com/ssokit/platform/services/welcome-notifier/internal/postgres"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome/ledgertest"
)

// newLedger returns a Ledger on the package's test database.
func newLedger(t *testing.T) (*postgres.Ledger, *sqlx.DB) {
	t.Helper()
	db := testDB(t)
	return postgres.NewLedger(db), db
}

func TestLedgerKeepsTheLedgerContract(t *testing.T) {
	t.Parallel()
	ledgertest.Run(t, func(t *testing.T) welcome.Ledger {
		l, _ := newLedger(t)
		return l
	})
}

func delivery() welcome.Delivery {
	id := uuid.NewString()
	return welcome.Delivery{
		Kind:      mail.Welcome,
		UserID:    id,
		EventID:   uuid.NewString(),
		Email:     "ada@example.test",
		MessageID: mail.Welcome.MessageID(id, "ssokit.local"),
	}
}

// counter is a send function that counts its calls and returns err.
type counter struct {
	calls atomic.Int32
	err   error
}

func (c *counter) send(context.Context) error {
	c.calls.Add(1)
	return c.err
}

// The contract says what Once does; these tests check what it writes down.

func TestOnceRecordsTheFirstEvent(t *testing.T) {
	t.Parallel()
	l, _ := newLedger(t)
	ctx := testenv.Context(t, 30*time.Second)
	d := delivery()
	var c counter

	before := time.Now()
	if got, err := l.Once(ctx, d, c.send); err != nil || got != welcome.Sent {
		t.Fatalf("first Once = %v, %v; want Sent", got, err)
	}
	// The same event redelivered, and another event for the same user.
	other := d
	other.EventID = uuid.NewString()
	other.Email = "ada.new@example.test"
	for _, again := range []welcome.Delivery{d, other} {
		if got, err := l.Once(ctx, again, c.send); err != nil || got != welcome.AlreadySent {
			t.Fatalf("Once again = %v, %v; want AlreadySent", got, err)
		}
	}
	if n := c.calls.Load(); n != 1 {
		t.Fatalf("send called %d times, want 1", n)
	}

	r, err := l.Get(ctx, d.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "sent" || r.Attempts != 1 || r.EventID != d.EventID || r.Email != d.Email || r.MessageID != d.MessageID || r.LastError != nil {
		t.Fatalf("record = %+v, want sent once by the first event", r)
	}
	if !r.SentAt.Valid || r.SentAt.Time.Before(before.Add(-time.Second)) {
		t.Fatalf("sent_at = %v, want the time of sending", r.SentAt)
	}
}

func TestOnceCountsFailuresAndRetries(t *testing.T) {
	t.Parallel()
	l, _ := newLedger(t)
	ctx := testenv.Context(t, 30*time.Second)
	d := delivery()
	smtpDown := errors.New("smtp connect: connection refused")

	failing := counter{err: smtpDown}
	for range 2 {
		if got, err := l.Once(ctx, d, failing.send); !errors.Is(err, smtpDown) || got != 0 {
			t.Fatalf("Once with a failing send = %v, %v; want the send error", got, err)
		}
	}
	r, err := l.Get(ctx, d.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "sending" || r.Attempts != 2 || r.LastError == nil || *r.LastError != smtpDown.Error() || r.SentAt.Valid {
		t.Fatalf("record after two failures = %+v, want sending, 2 attempts, the error kept", r)
	}

	var ok counter
	if got, err := l.Once(ctx, d, ok.send); err != nil || got != welcome.Sent {
		t.Fatalf("Once after recovery = %v, %v; want Sent", got, err)
	}
	r, err = l.Get(ctx, d.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "sent" || r.Attempts != 3 || r.LastError != nil || !r.SentAt.Valid {
		t.Fatalf("record after success = %+v, want sent, 3 attempts, no error", r)
	}
}

// TestOnceRecordsAccountMailsPerEvent: account mails live in
// account_mails, one row per event with its kind, and leave the user's
// welcome row alone.
func TestOnceRecordsAccountMailsPerEvent(t *testing.T) {
	t.Parallel()
	l, _ := newLedger(t)
	ctx := testenv.Context(t, 30*time.Second)
	userID := uuid.NewString()
	smtpDown := errors.New("smtp connect: connection refused")
	var events []welcome.Delivery
	for _, kind := range []mail.Kind{mail.VerifyEmail, mail.PasswordReset, mail.PasswordReset, mail.PasswordChanged} {
		ev := uuid.NewString()
		d := welcome.Delivery{Kind: kind, UserID: userID, EventID: ev, Email: "ada@example.test", MessageID: kind.MessageID(ev, "ssokit.local")}
		failing := counter{err: smtpDown}
		if _, err := l.Once(ctx, d, failing.send); !errors.Is(err, smtpDown) {
			t.Fatalf("Once of %s with SMTP down = %v, want the send error", kind, err)
		}
		var c counter
		for range 2 {
			if _, err := l.Once(ctx, d, c.send); err != nil {
				t.Fatal(err)
			}
		}
		if c.calls.Load() != 1 {
			t.Fatalf("%s sent %d times, want 1", kind, c.calls.Load())
		}
		events = append(events, d)
	}
	for _, d := range events {
		r, err := l.GetAccountMail(ctx, d.EventID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != string(d.Kind) || r.UserID != userID || r.Status != "sent" || r.Attempts != 2 || r.MessageID != d.MessageID || r.LastError != nil || !r.SentAt.Valid {
			t.Fatalf("record of %s = %+v, want sent on attempt 2 with its Message-ID", d.Kind, r)
		}
	}
	if _, err := l.Get(ctx, userID); !errors.Is(err, postgres.ErrNotFound) {
		t.Fatalf("welcome record after account mails = %v, want none", err)
	}
	if _, err := l.GetAccountMail(ctx, uuid.NewString()); !errors.Is(err, postgres.ErrNotFound) {
		t.Fatalf("GetAccountMail of an unknown event = %v, want ErrNotFound", err)
	}
}

func TestGetUnknownUser(t *testing.T) {
	t.Parallel()
	l, _ := newLedger(t)
	if _, err := l.Get(testenv.Context(t, 10*time.Second), uuid.NewString()); !errors.Is(err, postgres.ErrNotFound) {
		t.Fatalf("Get = %v, want ErrNotFound", err)
	}
}

func TestSchemaRejectsInconsistentRows(t *testing.T) {
	t.Parallel()
	_, db := newLedger(t)
	ctx := testenv.Context(t, 10*time.Second)
	tests := []struct {
		name, stmt string
		code       pq.ErrorCode
	}{
		{"unknown status", `INSERT INTO welcome_mails (user_id, event_id, email, status, message_id) VALUES (gen_random_uuid(), gen_random_uuid(), 'a@b', 'queued', 'x@y')`, "23514"},
		{"sent without time", `INSERT INTO welcome_mails (user_id, event_id, email, status, message_id) VALUES (gen_random_uuid(), gen_random_uuid(), 'a@b', 'sent', 'x@y')`, "23514"},
		{"user id not a uuid", `INSERT INTO welcome_mails (user_id, event_id, email, status, message_id) VALUES ('42', gen_random_uuid(), 'a@b', 'sending', 'x@y')`, "22P02"},
		{"account mail of no kind", `INSERT INTO account_mails (event_id, kind, user_id, email, status, message_id) VALUES (gen_random_uuid(), '', gen_random_uuid(), 'a@b', 'sending', 'x@y')`, "23514"},
		{"account mail sent without time", `INSERT INTO account_mails (event_id, kind, user_id, email, status, message_id) VALUES (gen_random_uuid(), 'verify-email', gen_random_uuid(), 'a@b', 'sent', 'x@y')`, "23514"},
	}
	for _, tt := range tests {
		_, err := db.ExecContext(ctx, tt.stmt)
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != tt.code {
			t.Errorf("%s: %v, want SQLSTATE %s", tt.name, err, tt.code)
		}
	}
}

// TestLedgerMarksAnUnreachableDatabaseUnavailable: a database that refuses
// connections is an outage to wait for (welcome.ErrUnavailable), and a
// statement the real server refuses is not.
func TestLedgerMarksAnUnreachableDatabaseUnavailable(t *testing.T) {
	t.Parallel()
	down := sqlx.MustOpen("postgres", "postgres://postgres:postgres@127.0.0.1:1/notifier?sslmode=disable&connect_timeout=2")
	t.Cleanup(func() { _ = down.Close() })
	sent := false
	_, err := postgres.NewLedger(down).Once(testenv.Context(t, 10*time.Second), delivery(), func(context.Context) error {
		sent = true
		return nil
	})
	if !errors.Is(err, welcome.ErrUnavailable) || sent {
		t.Fatalf("Once with the database down = %v (sent %v), want ErrUnavailable and no mail", err, sent)
	}

	l, _ := newLedger(t)
	d := delivery()
	d.UserID = "not a uuid" // the column is a uuid: the server refuses the statement
	if _, err := l.Once(testenv.Context(t, 10*time.Second), d, func(context.Context) error { return nil }); err == nil || errors.Is(err, welcome.ErrUnavailable) {
		t.Fatalf("Once with a bad user id = %v, want an error that is not ErrUnavailable", err)
	}
}

func TestEraseBlanksTheAddressAndTheErrors(t *testing.T) {
	t.Parallel()
	l, db := newLedger(t)
	ctx := t.Context()
	d := delivery()
	d.Email = "erase-" + d.UserID[:8] + "@example.test"
	// A failed welcome whose error quotes the address, then a sent one,
	// and a sent account mail.
	failing := counter{err: errors.New("550 <" + d.Email + ">: mailbox unavailable")}
	if _, err := l.Once(ctx, d, failing.send); err == nil {
		t.Fatal("a failing send succeeded")
	}
	reset := d
	reset.Kind, reset.EventID = mail.PasswordReset, uuid.NewString()
	reset.MessageID = mail.PasswordReset.MessageID(reset.EventID, "ssokit.local")
	if _, err := l.Once(ctx, reset, failing.send); err == nil {
		t.Fatal("a failing send succeeded")
	}
	var ok counter
	if _, err := l.Once(ctx, d, ok.send); err != nil {
		t.Fatal(err)
	}
	holding := func() int {
		var n int
		if err := db.GetContext(ctx, &n, `SELECT
			(SELECT count(*) FROM welcome_mails WHERE email = $1 OR last_error LIKE '%' || $1 || '%') +
			(SELECT count(*) FROM account_mails WHERE email = $1 OR last_error LIKE '%' || $1 || '%')`, d.Email); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := holding(); n != 2 {
		t.Fatalf("%d rows hold the address before Erase, want 2", n)
	}
	erasing := uuid.NewString()
	if err := l.Erase(ctx, d.UserID, erasing); err != nil {
		t.Fatal(err)
	}
	if n := holding(); n != 0 {
		t.Fatalf("%d rows still hold the address after Erase", n)
	}
	r, err := l.Get(ctx, d.UserID)
	if err != nil || r.Status != "sent" || r.Email != "" || r.LastError != nil || r.EventID != d.EventID {
		t.Fatalf("welcome row after Erase = %+v, %v; want sent, its ids kept, no address or error", r, err)
	}
	var by string
	if err := db.GetContext(ctx, &by, "SELECT event_id FROM erased_users WHERE user_id = $1", d.UserID); err != nil || by != erasing {
		t.Fatalf("erased_users row = %q, %v; want the UserDeleted event", by, err)
	}
	// A redelivered UserDeleted keeps the first event's id and changes
	// nothing.
	if err := l.Erase(ctx, d.UserID, uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	if err := db.GetContext(ctx, &by, "SELECT event_id FROM erased_users WHERE user_id = $1", d.UserID); err != nil || by != erasing {
		t.Fatalf("erased_users after a redelivery = %q, %v", by, err)
	}
}
