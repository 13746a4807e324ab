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
	err      error
	gotUser  string
	gotEvent string
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
			h, err := events.NewHandler(&tt.w, reg, slog.New(slog.NewTextHandler(&logs, nil)))
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
# HELP loyalty_points_welcome_bonuses_total UserRegistered events handled, by outcome: credited, duplicate (the user had the bonus already), failed (to be retried), rejected (malformed, dead-lettered).
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
