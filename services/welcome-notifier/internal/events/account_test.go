package events_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/services/welcome-notifier/internal/events"
	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

const (
	accUser  = "0f8fad5b-d9cb-469f-a165-70867728950e"
	accEvent = "a3bb189e-8bf9-4888-9912-ace4e6543002"
	secret   = "c2VjcmV0LXRva2VuLW9mLTMyLWJ5dGVzLXh4eHh4eHg"
)

type fakeMailer struct {
	outcome welcome.Outcome
	err     error
	got     []welcome.AccountMail
	forgot  []string
}

func (f *fakeMailer) Send(_ context.Context, m welcome.AccountMail) (welcome.Delivery, welcome.Outcome, error) {
	f.got = append(f.got, m)
	return welcome.Delivery{Kind: m.Kind, UserID: m.UserID, EventID: m.EventID, Email: m.Email, MessageID: m.Kind.MessageID(m.EventID, "ssokit.local")}, f.outcome, f.err
}

func (f *fakeMailer) Forget(_ context.Context, userID, eventID string) error {
	f.forgot = append(f.forgot, userID+"/"+eventID)
	return f.err
}

func newRing(t *testing.T) *sealbox.Ring {
	t.Helper()
	line, err := sealbox.NewKeyLine("test")
	if err != nil {
		t.Fatal(err)
	}
	r, err := sealbox.Parse([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func seal(t *testing.T, r *sealbox.Ring, purpose, user, event string) *eventsv1.SealedSecret {
	t.Helper()
	s, err := r.Seal([]byte(secret), sealbox.AAD(purpose, user, event))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newAccountHandler(t *testing.T, m *fakeMailer, ring *sealbox.Ring) (*events.AccountHandler, *prometheus.Registry, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	h, err := events.NewAccountHandler(m, ring, &fakeKeys{}, reg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return h, reg, &logs
}

func count(t *testing.T, reg *prometheus.Registry, kind, outcome string) float64 {
	t.Helper()
	n, err := testutil.GatherAndCount(reg, "welcome_notifier_account_events_total")
	if err != nil || n == 0 {
		t.Fatalf("welcome_notifier_account_events_total not exported: %d, %v", n, err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if mf.GetName() == "welcome_notifier_account_events_total" && labels["kind"] == kind && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

func TestAccountEventMailsEachKind(t *testing.T) {
	t.Parallel()
	ring := newRing(t)
	expires := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		ev     *eventsv1.AccountEvent
		want   welcome.AccountMail
		metric string
	}{
		{"verification", &eventsv1.AccountEvent{EventId: accEvent, UserId: accUser, Kind: &eventsv1.AccountEvent_EmailVerificationRequested{
			EmailVerificationRequested: &eventsv1.EmailVerificationRequested{Email: "ada@example.test", Token: seal(t, ring, events.PurposeEmailVerification, accUser, accEvent), ExpiresAt: timestamppb.New(expires)}}},
			welcome.AccountMail{Kind: mail.VerifyEmail, UserID: accUser, EventID: accEvent, Email: "ada@example.test", Token: secret, ExpiresAt: expires},
			"email_verification_requested"},
		{"reset", &eventsv1.AccountEvent{EventId: accEvent, UserId: accUser, Kind: &eventsv1.AccountEvent_PasswordResetRequested{
			PasswordResetRequested: &eventsv1.PasswordResetRequested{Email: "ada@example.test", Token: seal(t, ring, events.PurposePasswordReset, accUser, accEvent), ExpiresAt: timestamppb.New(expires)}}},
			welcome.AccountMail{Kind: mail.PasswordReset, UserID: accUser, EventID: accEvent, Email: "ada@example.test", Token: secret, ExpiresAt: expires},
			"password_reset_requested"},
		{"changed by reset", &eventsv1.AccountEvent{EventId: accEvent, UserId: accUser, Kind: &eventsv1.AccountEvent_PasswordChanged{
			PasswordChanged: &eventsv1.PasswordChanged{Email: "ada@example.test", Method: eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_RESET}}},
			welcome.AccountMail{Kind: mail.PasswordChanged, UserID: accUser, EventID: accEvent, Email: "ada@example.test", Method: welcome.MethodReset},
			"password_changed"},
		{"changed by the user", &eventsv1.AccountEvent{EventId: accEvent, UserId: accUser, Kind: &eventsv1.AccountEvent_PasswordChanged{
			PasswordChanged: &eventsv1.PasswordChanged{Email: "ada@example.test", Method: eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_CHANGE}}},
			welcome.AccountMail{Kind: mail.PasswordChanged, UserID: accUser, EventID: accEvent, Email: "ada@example.test", Method: welcome.MethodChange},
			"password_changed"},
		{"changed by a method added later", &eventsv1.AccountEvent{EventId: accEvent, UserId: accUser, Kind: &eventsv1.AccountEvent_PasswordChanged{
			PasswordChanged: &eventsv1.PasswordChanged{Email: "ada@example.test", Method: eventsv1.PasswordChangeMethod(7)}}},
			welcome.AccountMail{Kind: mail.PasswordChanged, UserID: accUser, EventID: accEvent, Email: "ada@example.test"},
			"password_changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := &fakeMailer{outcome: welcome.Sent}
			h, reg, logs := newAccountHandler(t, m, ring)
			if err := h.AccountEvent(t.Context(), tt.ev, consumer.Metadata{Attempt: 1, Topic: "account-events", Offset: 7}); err != nil {
				t.Fatal(err)
			}
			if len(m.got) != 1 || m.got[0] != tt.want {
				t.Fatalf("mailed %+v, want %+v", m.got, tt.want)
			}
			if got := count(t, reg, tt.metric, "sent"); got != 1 {
				t.Errorf("%s sent = %v, want 1", tt.metric, got)
			}
			for _, s := range []string{"account mail sent", "event_id=" + accEvent, "message_id="} {
				if !strings.Contains(logs.String(), s) {
					t.Errorf("log %q lacks %q", logs, s)
				}
			}
			for _, s := range []string{secret, "ada@example.test", "token"} {
				if strings.Contains(logs.String(), s) {
					t.Errorf("log %q shows %q", logs, s)
				}
			}
		})
	}
}

// TestAccountEventRefusesTokensThatDoNotOpen: a token sealed with another
// ring, for another purpose, user or event is dead-lettered at once and
// never reaches the mailer; nothing about it is logged.
func TestAccountEventRefusesTokensThatDoNotOpen(t *testing.T) {
	t.Parallel()
	ring, other := newRing(t), newRing(t)
	const otherEvent = "9a3a1d0c-6f7e-4a44-b0a6-3e2f5d8c7b10"
	tests := map[string]*eventsv1.SealedSecret{
		"another ring":    seal(t, other, events.PurposePasswordReset, accUser, accEvent),
		"another purpose": seal(t, ring, events.PurposeEmailVerification, accUser, accEvent),
		"another event":   seal(t, ring, events.PurposePasswordReset, accUser, otherEvent),
		"another user":    seal(t, ring, events.PurposePasswordReset, otherEvent, accEvent),
		"no token":        nil,
	}
	for name, sealed := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := &fakeMailer{outcome: welcome.Sent}
			h, reg, logs := newAccountHandler(t, m, ring)
			err := h.AccountEvent(t.Context(), &eventsv1.AccountEvent{EventId: accEvent, UserId: accUser, Kind: &eventsv1.AccountEvent_PasswordResetRequested{
				PasswordResetRequested: &eventsv1.PasswordResetRequested{Email: "ada@example.test", Token: sealed, ExpiresAt: timestamppb.Now()}}}, consumer.Metadata{})
			if !errors.Is(err, consumer.ErrPermanent) || !errors.Is(err, sealbox.ErrUnsealable) {
				t.Fatalf("AccountEvent = %v, want permanent and unsealable", err)
			}
			if len(m.got) != 0 {
				t.Fatal("an unopenable token reached the mailer")
			}
			if strings.Contains(err.Error(), "ada@example.test") {
				t.Fatalf("error %q shows the address", err)
			}
			if logs.Len() != 0 {
				t.Fatalf("logged %q; the consumer logs the error once", logs)
			}
			if got := count(t, reg, "password_reset_requested", "rejected"); got != 1 {
				t.Fatalf("rejected = %v, want 1", got)
			}
		})
	}
}

func TestAccountEventIgnoresAndSkips(t *testing.T) {
	t.Parallel()
	m := &fakeMailer{outcome: welcome.Sent}
	h, reg, logs := newAccountHandler(t, m, newRing(t))
	verified := &eventsv1.AccountEvent{EventId: accEvent, UserId: accUser, Kind: &eventsv1.AccountEvent_EmailVerified{EmailVerified: &eventsv1.EmailVerified{Email: "ada@example.test"}}}
	unknown := &eventsv1.AccountEvent{EventId: accEvent, UserId: accUser} // a kind added later decodes as unset
	for _, ev := range []*eventsv1.AccountEvent{verified, unknown} {
		if err := h.AccountEvent(t.Context(), ev, consumer.Metadata{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.got) != 0 {
		t.Fatalf("mailed %+v, want nothing", m.got)
	}
	if count(t, reg, "email_verified", "ignored") != 1 || count(t, reg, "unknown", "skipped") != 1 {
		t.Fatal("email_verified ignored and unknown skipped not counted once each")
	}
	if !strings.Contains(logs.String(), "skipped") || !strings.Contains(logs.String(), accEvent) {
		t.Errorf("log %q, want the skipped event named", logs)
	}
}

func TestAccountEventUserDeletedForgetsTheUser(t *testing.T) {
	t.Parallel()
	m := &fakeMailer{outcome: welcome.Erased}
	h, reg, logs := newAccountHandler(t, m, newRing(t))
	deleted := &eventsv1.AccountEvent{EventId: accEvent, UserId: accUser, Kind: &eventsv1.AccountEvent_UserDeleted{UserDeleted: &eventsv1.UserDeleted{}}}
	if err := h.AccountEvent(t.Context(), deleted, consumer.Metadata{}); err != nil {
		t.Fatal(err)
	}
	if len(m.forgot) != 1 || m.forgot[0] != accUser+"/"+accEvent || len(m.got) != 0 {
		t.Fatalf("forgot %v, mailed %+v; want the user forgotten, nothing mailed", m.forgot, m.got)
	}
	// A later mail of the erased user: the ledger sends nothing.
	changed := &eventsv1.AccountEvent{EventId: accEvent, UserId: accUser, Kind: &eventsv1.AccountEvent_PasswordChanged{PasswordChanged: &eventsv1.PasswordChanged{Email: "ada@example.test"}}}
	if err := h.AccountEvent(t.Context(), changed, consumer.Metadata{}); err != nil {
		t.Fatal(err)
	}
	if count(t, reg, "user_deleted", "erased") != 1 || count(t, reg, "password_changed", "erased") != 1 {
		t.Fatal("user_deleted and the mail of the erased user not counted as erased")
	}
	if strings.Contains(logs.String(), "ada@example.test") {
		t.Errorf("the address is in the log: %q", logs)
	}
	m.err = welcome.ErrUnavailable
	if err := h.AccountEvent(t.Context(), deleted, consumer.Metadata{}); !errors.Is(err, consumer.ErrTransient) {
		t.Fatalf("erase with the ledger down = %v, want transient", err)
	}
}

func TestAccountEventClassifiesFailures(t *testing.T) {
	t.Parallel()
	smtpDown := errors.New("smtp connect: connection refused")
	tests := []struct {
		name                 string
		m                    fakeMailer
		permanent, transient bool
		outcome              string
	}{
		{"duplicate", fakeMailer{outcome: welcome.AlreadySent}, false, false, "duplicate"},
		{"invalid", fakeMailer{err: fmt.Errorf("%w: no address", welcome.ErrInvalidEvent)}, true, false, "rejected"},
		{"undeliverable", fakeMailer{err: fmt.Errorf("%w: 550", welcome.ErrUndeliverable)}, true, false, "rejected"},
		{"unavailable", fakeMailer{err: fmt.Errorf("%w: %w", welcome.ErrUnavailable, smtpDown)}, false, true, "failed"},
		{"unclassified", fakeMailer{err: smtpDown}, false, false, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, reg, _ := newAccountHandler(t, &tt.m, newRing(t))
			err := h.AccountEvent(t.Context(), &eventsv1.AccountEvent{EventId: accEvent, UserId: accUser, Kind: &eventsv1.AccountEvent_PasswordChanged{
				PasswordChanged: &eventsv1.PasswordChanged{Email: "ada@example.test"}}}, consumer.Metadata{})
			if errors.Is(err, consumer.ErrPermanent) != tt.permanent || errors.Is(err, consumer.ErrTransient) != tt.transient || (tt.outcome == "duplicate") != (err == nil) {
				t.Fatalf("AccountEvent = %v; want permanent %v, transient %v", err, tt.permanent, tt.transient)
			}
			if got := count(t, reg, "password_changed", tt.outcome); got != 1 {
				t.Fatalf("%s = %v, want 1", tt.outcome, got)
			}
		})
	}
}

// TestAccountEventOpensTokensOfAnOlderKey: after a rotation (a new key on
// top of the notifier's ring) events sealed by sso with the old key, still
// in flight, are mailed.
func TestAccountEventOpensTokensOfAnOlderKey(t *testing.T) {
	t.Parallel()
	oldLine, newLine := mustLine(t, "2026-11"), mustLine(t, "2026-12")
	old, err := sealbox.Parse([]byte(oldLine))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := sealbox.Parse([]byte(newLine + "\n" + oldLine + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMailer{outcome: welcome.Sent}
	h, _, _ := newAccountHandler(t, m, rotated)
	ev := &eventsv1.AccountEvent{EventId: accEvent, UserId: accUser, Kind: &eventsv1.AccountEvent_EmailVerificationRequested{
		EmailVerificationRequested: &eventsv1.EmailVerificationRequested{Email: "ada@example.test",
			Token: seal(t, old, events.PurposeEmailVerification, accUser, accEvent), ExpiresAt: timestamppb.Now()}}}
	if err := h.AccountEvent(t.Context(), ev, consumer.Metadata{}); err != nil {
		t.Fatal(err)
	}
	if len(m.got) != 1 || m.got[0].Token != secret {
		t.Fatalf("mailed %+v, want the token sealed with the old key", m.got)
	}
}

func mustLine(t *testing.T, id string) string {
	t.Helper()
	line, err := sealbox.NewKeyLine(id)
	if err != nil {
		t.Fatal(err)
	}
	return line
}
