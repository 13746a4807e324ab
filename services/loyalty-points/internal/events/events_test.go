package events_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/services/loyalty-points/internal/events"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
)

type fakeWelcomer struct {
	credited bool
	closed   bool
	err      error
	gotUser  string
	gotEvent string
}

func (f *fakeWelcomer) CloseAccount(_ context.Context, userID, eventID string) (bool, error) {
	f.gotUser, f.gotEvent = userID, eventID
	return f.closed, f.err
}

func (f *fakeWelcomer) CreditWelcomeBonus(_ context.Context, userID, eventID string) (bool, error) {
	f.gotUser, f.gotEvent = userID, eventID
	return f.credited, f.err
}

func TestUserRegistered(t *testing.T) {
	dbDown := errors.New("dial tcp 127.0.0.1:5432: connection refused")
	tests := []struct {
		name      string
		w         fakeWelcomer
		wantErr   error // nil: success
		permanent bool
		outcome   string
		logged    string
	}{
		{"credited", fakeWelcomer{credited: true}, nil, false, "credited", "bonus_credited=true"},
		{"already credited", fakeWelcomer{credited: false}, nil, false, "duplicate", "bonus_credited=false"},
		{"malformed event", fakeWelcomer{err: &ledger.InvalidArgumentError{Field: "user_id", Reason: "must be a UUID"}}, consumer.ErrPermanent, true, "rejected", ""},
		{"database down", fakeWelcomer{err: fmt.Errorf("postgres: %w: %w", ledger.ErrUnavailable, dbDown)}, consumer.ErrTransient, false, "failed", ""},
		{"unclassified failure", fakeWelcomer{err: fmt.Errorf("postgres: %w", dbDown)}, dbDown, false, "failed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			reg := prometheus.NewRegistry()
			h, err := events.NewHandler(&tt.w, events.OnRegistration, reg, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			ev := &eventsv1.UserRegistered{EventId: "a3bb189e-8bf9-4888-9912-ace4e6543002", UserId: "0f8fad5b-d9cb-469f-a165-70867728950e"}
			err = h.UserRegistered(context.Background(), ev, consumer.Metadata{Attempt: 1})
			if tt.w.gotUser != ev.UserId || tt.w.gotEvent != ev.EventId {
				t.Fatalf("credited %q/%q, want the event's ids", tt.w.gotUser, tt.w.gotEvent)
			}
			if !errors.Is(err, tt.wantErr) || tt.wantErr == nil && err != nil {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if errors.Is(err, consumer.ErrPermanent) != tt.permanent {
				t.Fatalf("err = %v: permanent %v, want %v", err, !tt.permanent, tt.permanent)
			}
			if transient := errors.Is(err, ledger.ErrUnavailable); errors.Is(err, consumer.ErrTransient) != transient {
				t.Fatalf("err = %v: transient %v, want %v", err, !transient, transient)
			}
			if !strings.Contains(logs.String(), tt.logged) {
				t.Fatalf("log %q lacks %q", logs.String(), tt.logged)
			}
			want := fmt.Sprintf(`
# HELP loyalty_points_welcome_bonuses_total Welcome-bonus events (UserRegistered, or EmailVerified under LOYALTY_WELCOME_BONUS_ON=verification) handled, by outcome: credited, duplicate (the user had the bonus already), failed (to be retried), rejected (malformed, dead-lettered).
# TYPE loyalty_points_welcome_bonuses_total counter
loyalty_points_welcome_bonuses_total{outcome="credited"} %d
loyalty_points_welcome_bonuses_total{outcome="duplicate"} %d
loyalty_points_welcome_bonuses_total{outcome="failed"} %d
loyalty_points_welcome_bonuses_total{outcome="rejected"} %d
`, b2i(tt.outcome == "credited"), b2i(tt.outcome == "duplicate"), b2i(tt.outcome == "failed"), b2i(tt.outcome == "rejected"))
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "loyalty_points_welcome_bonuses_total"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestWelcomeBonusOnVerification: under OnVerification only the
// EmailVerified kind credits; UserRegistered, the other kinds and kinds
// newer than this build are skipped and counted, never failed.
func TestWelcomeBonusOnVerification(t *testing.T) {
	const userID, eventID = "0f8fad5b-d9cb-469f-a165-70867728950e", "a3bb189e-8bf9-4888-9912-ace4e6543002"
	tests := []struct {
		name    string
		handle  func(*events.Handler) error
		credits bool
		skipped string // the kind label counted, if skipped
	}{
		{"email verified", func(h *events.Handler) error {
			return h.AccountEvent(context.Background(), &eventsv1.AccountEvent{EventId: eventID, UserId: userID,
				Kind: &eventsv1.AccountEvent_EmailVerified{EmailVerified: &eventsv1.EmailVerified{}}}, consumer.Metadata{Attempt: 1})
		}, true, ""},
		{"user registered", func(h *events.Handler) error {
			return h.UserRegistered(context.Background(), &eventsv1.UserRegistered{EventId: eventID, UserId: userID}, consumer.Metadata{Attempt: 1})
		}, false, "user_registered"},
		{"another kind", func(h *events.Handler) error {
			return h.AccountEvent(context.Background(), &eventsv1.AccountEvent{EventId: eventID, UserId: userID,
				Kind: &eventsv1.AccountEvent_PasswordChanged{PasswordChanged: &eventsv1.PasswordChanged{}}}, consumer.Metadata{Attempt: 1})
		}, false, "password_changed"},
		{"a kind newer than this build", func(h *events.Handler) error {
			return h.AccountEvent(context.Background(), &eventsv1.AccountEvent{EventId: eventID, UserId: userID}, consumer.Metadata{Attempt: 1})
		}, false, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &fakeWelcomer{credited: true}
			reg := prometheus.NewRegistry()
			h, err := events.NewHandler(w, events.OnVerification, reg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.handle(h); err != nil {
				t.Fatalf("err = %v, want none", err)
			}
			if credited := w.gotUser == userID && w.gotEvent == eventID; credited != tt.credits {
				t.Fatalf("credited %v, want %v", credited, tt.credits)
			}
			if tt.skipped != "" {
				if n := skippedCount(t, reg, tt.skipped); n != 1 {
					t.Errorf("skipped{kind=%q} = %v, want 1", tt.skipped, n)
				}
			}
		})
	}
}

// TestAccountEventsCreditNothingOnRegistration: with the bonus on
// registration, even an EmailVerified is skipped.
func TestAccountEventsCreditNothingOnRegistration(t *testing.T) {
	w := &fakeWelcomer{credited: true}
	h, err := events.NewHandler(w, events.OnRegistration, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ev := &eventsv1.AccountEvent{EventId: "a3bb189e-8bf9-4888-9912-ace4e6543002", UserId: "0f8fad5b-d9cb-469f-a165-70867728950e",
		Kind: &eventsv1.AccountEvent_EmailVerified{EmailVerified: &eventsv1.EmailVerified{}}}
	if err := h.AccountEvent(context.Background(), ev, consumer.Metadata{Attempt: 1}); err != nil || w.gotUser != "" {
		t.Fatalf("err %v, credited %q; want a skip", err, w.gotUser)
	}
	if _, err := events.NewHandler(w, "login", prometheus.NewRegistry(), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("NewHandler accepted an unknown event to credit on")
	}
}

// skippedCount is loyalty_points_events_skipped_total{kind}.
func skippedCount(t *testing.T, reg *prometheus.Registry, kind string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "loyalty_points_events_skipped_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == kind {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no loyalty_points_events_skipped_total{kind=%q}", kind)
	return 0
}

// TestUserDeletedClosesInBothSettings: a UserDeleted closes the account
// whichever event credits the bonus; a redelivery is a duplicate.
func TestUserDeletedClosesInBothSettings(t *testing.T) {
	for _, on := range []events.BonusOn{events.OnRegistration, events.OnVerification} {
		w := &fakeWelcomer{closed: true}
		reg := prometheus.NewRegistry()
		h, err := events.NewHandler(w, on, reg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		ev := &eventsv1.AccountEvent{EventId: "a3bb189e-8bf9-4888-9912-ace4e6543002", UserId: "0f8fad5b-d9cb-469f-a165-70867728950e",
			Kind: &eventsv1.AccountEvent_UserDeleted{UserDeleted: &eventsv1.UserDeleted{}}}
		if err := h.AccountEvent(context.Background(), ev, consumer.Metadata{Attempt: 1}); err != nil || w.gotUser != ev.GetUserId() || w.gotEvent != ev.GetEventId() {
			t.Fatalf("%s: err %v, closed %q/%q; want the event's user closed", on, err, w.gotUser, w.gotEvent)
		}
		w.closed = false
		if err := h.AccountEvent(context.Background(), ev, consumer.Metadata{Attempt: 1}); err != nil {
			t.Fatalf("%s: redelivery: %v", on, err)
		}
		if got := closings(t, reg, "closed"); got != 1 {
			t.Errorf("%s: closed counted %v, want 1", on, got)
		}
		if got := closings(t, reg, "duplicate"); got != 1 {
			t.Errorf("%s: duplicate counted %v, want 1", on, got)
		}
		w.err = fmt.Errorf("postgres: %w", ledger.ErrUnavailable)
		if err := h.AccountEvent(context.Background(), ev, consumer.Metadata{Attempt: 1}); !errors.Is(err, consumer.ErrTransient) {
			t.Fatalf("%s: database down: %v, want transient", on, err)
		}
	}
}

// closings is loyalty_points_account_closings_total{outcome}.
func closings(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "loyalty_points_account_closings_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no loyalty_points_account_closings_total{outcome=%q}", outcome)
	return 0
}
