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

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/services/welcome-notifier/internal/events"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

// fakeKeys opens personal data with key, as sso.Keys does with the key sso
// hands out; err stands for sso's answer when it has none to give.
type fakeKeys struct {
	key   []byte
	err   error
	calls int
}

func (f *fakeKeys) OpenPersonal(_ context.Context, userID, eventID string, s *eventsv1.SealedPersonal) (*eventsv1.PersonalData, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	p, err := sealbox.OpenPersonal(f.key, userID, eventID, s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", welcome.ErrInvalidEvent, err)
	}
	return p, nil
}

func sealedPersonal(t *testing.T, key []byte, user, event, email string) *eventsv1.SealedPersonal {
	t.Helper()
	s, err := sealbox.SealPersonal(key, sealbox.DataKeyVersion, user, event, &eventsv1.PersonalData{Email: email, FullName: "Ada Lovelace"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSealedPersonalData: both handlers mail the address sealed in the
// event when the key opens it; an erased user's event succeeds sending
// nothing; sso down is an outage (transient), never a dead letter.
func TestSealedPersonalData(t *testing.T) {
	t.Parallel()
	key, err := sealbox.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	const email = "ada@example.test"
	ssoDown := errors.New("sso: connection refused")
	tests := []struct {
		name      string
		keys      fakeKeys
		mailed    bool
		transient bool
		permanent bool
		outcome   string
	}{
		{"key found", fakeKeys{key: key}, true, false, false, "sent"},
		{"user erased", fakeKeys{err: welcome.ErrErased}, false, false, false, "erased"},
		{"sso unavailable", fakeKeys{err: fmt.Errorf("%w: %w", welcome.ErrUnavailable, ssoDown)}, false, true, false, "failed"},
		{"wrong key", fakeKeys{key: make([]byte, sealbox.KeySize)}, false, false, true, "rejected"},
	}
	for _, tt := range tests {
		t.Run("registered/"+tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			reg := prometheus.NewRegistry()
			w := &fakeWelcomer{outcome: welcome.Sent}
			keys := tt.keys
			h, err := events.NewHandler(w, &keys, reg, slog.New(slog.NewJSONHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			ev := &eventsv1.UserRegistered{EventId: accEvent, UserId: accUser, Personal: sealedPersonal(t, key, accUser, accEvent, email)}
			err = h.UserRegistered(t.Context(), ev, consumer.Metadata{Attempt: 1})
			checkSealedOutcome(t, err, tt.transient, tt.permanent)
			if got := w.got != nil; got != tt.mailed {
				t.Fatalf("welcomed %v, want %v", got, tt.mailed)
			}
			if tt.mailed && w.got.Email != email {
				t.Fatalf("welcomed %q, want %q", w.got.Email, email)
			}
			if keys.calls != 1 {
				t.Fatalf("%d key lookups, want 1", keys.calls)
			}
			if strings.Contains(logs.String(), email) || strings.Contains(logs.String(), "Lovelace") {
				t.Fatalf("the log carries personal data: %s", logs.String())
			}
			assertOutcome(t, reg, tt.outcome)
		})
		t.Run("account/"+tt.name, func(t *testing.T) {
			t.Parallel()
			ring := newRing(t)
			m := &fakeMailer{outcome: welcome.Sent}
			keys := tt.keys
			var logs bytes.Buffer
			reg := prometheus.NewRegistry()
			h, err := events.NewAccountHandler(m, ring, &keys, reg, slog.New(slog.NewJSONHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			ev := &eventsv1.AccountEvent{EventId: accEvent, UserId: accUser, Kind: &eventsv1.AccountEvent_PasswordChanged{
				PasswordChanged: &eventsv1.PasswordChanged{Personal: sealedPersonal(t, key, accUser, accEvent, email)},
			}}
			err = h.AccountEvent(t.Context(), ev, consumer.Metadata{Attempt: 1})
			checkSealedOutcome(t, err, tt.transient, tt.permanent)
			if got := len(m.got) == 1; got != tt.mailed {
				t.Fatalf("mailed %d, want %v", len(m.got), tt.mailed)
			}
			if tt.mailed && m.got[0].Email != email {
				t.Fatalf("mailed %q, want %q", m.got[0].Email, email)
			}
			if strings.Contains(logs.String(), email) {
				t.Fatalf("the log carries the address: %s", logs.String())
			}
			if got := count(t, reg, "password_changed", tt.outcome); got != 1 {
				t.Fatalf("password_changed/%s = %v, want 1", tt.outcome, got)
			}
		})
	}
}

func checkSealedOutcome(t *testing.T, err error, transient, permanent bool) {
	t.Helper()
	if (err == nil) == (transient || permanent) {
		t.Fatalf("err = %v, want transient %v, permanent %v", err, transient, permanent)
	}
	if errors.Is(err, consumer.ErrTransient) != transient || errors.Is(err, consumer.ErrPermanent) != permanent {
		t.Fatalf("err = %v, want transient %v, permanent %v", err, transient, permanent)
	}
}
