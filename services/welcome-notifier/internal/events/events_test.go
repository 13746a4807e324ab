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
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/services/welcome-notifier/internal/events"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

type fakeWelcomer struct {
	outcome welcome.Outcome
	err     error
	got     *welcome.Registration
}

func (f *fakeWelcomer) Welcome(_ context.Context, r welcome.Registration) (welcome.Delivery, welcome.Outcome, error) {
	f.got = &r
	d := welcome.Delivery{UserID: r.UserID, EventID: r.EventID, Email: r.Email, MessageID: "welcome." + r.UserID + "@ssokit.local"}
	return d, f.outcome, f.err
}

func TestUserRegistered(t *testing.T) {
	t.Parallel()
	smtpDown := errors.New("smtp connect: connection refused")
	tests := []struct {
		name      string
		w         fakeWelcomer
		wantErr   error // nil: success
		permanent bool
		transient bool
		outcome   string
		logged    string
	}{
		{"sent", fakeWelcomer{outcome: welcome.Sent}, nil, false, false, "sent", "welcome e-mail sent"},
		{"already sent", fakeWelcomer{outcome: welcome.AlreadySent}, nil, false, false, "duplicate", "welcome e-mail already sent, skipping"},
		{"invalid registration", fakeWelcomer{err: fmt.Errorf("%w: user id is not a UUID", welcome.ErrInvalidEvent)}, welcome.ErrInvalidEvent, true, false, "rejected", ""},
		{"recipient rejected", fakeWelcomer{err: fmt.Errorf("%w: 550 no such user", welcome.ErrUndeliverable)}, welcome.ErrUndeliverable, true, false, "rejected", ""},
		{"mail server down", fakeWelcomer{err: fmt.Errorf("%w: welcome user x: %w", welcome.ErrUnavailable, smtpDown)}, smtpDown, false, true, "failed", ""},
		{"unclassified failure", fakeWelcomer{err: fmt.Errorf("welcome user x: %w", smtpDown)}, smtpDown, false, false, "failed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			reg := prometheus.NewRegistry()
			h, err := events.NewHandler(&tt.w, &fakeKeys{}, reg, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
			ev := &eventsv1.UserRegistered{
				EventId: "a3bb189e-8bf9-4888-9912-ace4e6543002", UserId: "0f8fad5b-d9cb-469f-a165-70867728950e",
				Email: "ada@example.test", FullName: "Ada Lovelace\nClick http://evil.test", RegisteredAt: timestamppb.New(at),
			}
			err = h.UserRegistered(t.Context(), ev, consumer.Metadata{Attempt: 3, Topic: "user-registered", Offset: 42})
			want := welcome.Registration{UserID: ev.UserId, EventID: ev.EventId, Email: ev.Email, RegisteredAt: at}
			if tt.w.got == nil || *tt.w.got != want {
				t.Fatalf("welcomed %+v, want %+v", tt.w.got, want)
			}
			if !errors.Is(err, tt.wantErr) || tt.wantErr == nil && err != nil {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if errors.Is(err, consumer.ErrPermanent) != tt.permanent {
				t.Fatalf("err = %v: permanent %v, want %v", err, !tt.permanent, tt.permanent)
			}
			if errors.Is(err, consumer.ErrTransient) != tt.transient {
				t.Fatalf("err = %v: transient %v, want %v", err, !tt.transient, tt.transient)
			}
			if tt.logged != "" {
				for _, s := range []string{tt.logged, "user_id=" + ev.UserId, "message_id=welcome." + ev.UserId, "attempt=3", "topic=user-registered", "offset=42"} {
					if !strings.Contains(logs.String(), s) {
						t.Errorf("log %q lacks %q", logs.String(), s)
					}
				}
			}
			assertOutcome(t, reg, tt.outcome)
		})
	}
}

func TestUserRegisteredRefusesNoEvent(t *testing.T) {
	t.Parallel()
	w := &fakeWelcomer{}
	reg := prometheus.NewRegistry()
	h, err := events.NewHandler(w, &fakeKeys{}, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = h.UserRegistered(t.Context(), nil, consumer.Metadata{})
	if !errors.Is(err, consumer.ErrPermanent) || !errors.Is(err, welcome.ErrInvalidEvent) {
		t.Fatalf("UserRegistered(nil) = %v, want ErrPermanent and ErrInvalidEvent", err)
	}
	if w.got != nil {
		t.Fatal("a missing event reached the use case")
	}
	assertOutcome(t, reg, "rejected")
}

// assertOutcome checks that exactly one event was counted, under outcome,
// and that every outcome is exported.
func assertOutcome(t *testing.T, reg *prometheus.Registry, outcome string) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "welcome_notifier_mails_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" {
					got[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	want := map[string]float64{"sent": 0, "duplicate": 0, "failed": 0, "rejected": 0, "erased": 0}
	want[outcome] = 1
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("welcome_notifier_mails_total = %v, want %v", got, want)
	}
}
