package outbox_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ssokit/platform/services/sso/internal/outbox"
)

// newBacklog returns a Backlog registered on a registry of its own.
func newBacklog(t *testing.T, measure outbox.BacklogFunc, maxAge, timeout time.Duration, log *slog.Logger) *outbox.Backlog {
	t.Helper()
	b, err := outbox.NewBacklog(prometheus.NewRegistry(), measure, maxAge, timeout, log)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gauges gathers the backlog gauges; ok is false when they are missing.
func gauges(t *testing.T, b *outbox.Backlog) (pending, oldest float64, ok bool) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(b)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		switch f.GetName() {
		case "sso_outbox_pending_events":
			pending, ok = f.GetMetric()[0].GetGauge().GetValue(), true
		case "sso_outbox_oldest_pending_age_seconds":
			oldest = f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return pending, oldest, ok
}

// TestBacklogMeasuresTheUndeliveredRows seeds rows in every status: only
// inProgress and failed ones are pending, and the oldest of them gives the
// age, whatever the delivered rows' ages.
func TestBacklogMeasuresTheUndeliveredRows(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fresh := newBacklog(t, outbox.QueryBacklog(db), time.Nanosecond, 0, quietLog())
	if pending, oldest, ok := gauges(t, fresh); !ok || pending != 0 || oldest != 0 {
		t.Fatalf("empty outbox: pending %v, oldest %v (reported %v); want 0 and 0", pending, oldest, ok)
	}

	insert(t, db, "t", seed{status: "successful", updatedAgo: time.Hour})
	insert(t, db, "t", seed{status: "failed", attempts: 2, updatedAgo: 90 * time.Second, nextIn: in(time.Minute)})
	insert(t, db, "t", seed{status: "inProgress", updatedAgo: 30 * time.Second})
	insert(t, db, "t", seed{status: "inProgress"})
	pending, oldest, ok := gauges(t, fresh)
	if !ok || pending != 3 || math.Abs(oldest-90) > 5 {
		t.Fatalf("pending %v, oldest %vs (reported %v); want 3 and about 90s", pending, oldest, ok)
	}

	// A cached measurement is served until it is maxAge old.
	cached := newBacklog(t, outbox.QueryBacklog(db), time.Hour, 0, quietLog())
	gauges(t, cached)
	insert(t, db, "t", seed{status: "failed", updatedAgo: time.Second})
	if pending, _, _ := gauges(t, cached); pending != 3 {
		t.Errorf("cached pending = %v, want the cached 3", pending)
	}
	if pending, _, _ := gauges(t, fresh); pending != 4 {
		t.Errorf("pending = %v, want 4", pending)
	}
}

// TestBacklogLeavesTheGaugesOutWhileItCannotMeasure uses a measurement that
// fails, then recovers: no stale numbers, one warning for the outage, and
// concurrent scrapes within maxAge share one measurement.
func TestBacklogLeavesTheGaugesOutWhileItCannotMeasure(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var down atomic.Bool
	down.Store(true)
	measure := func(ctx context.Context) (int64, time.Duration, error) {
		calls.Add(1)
		if _, ok := ctx.Deadline(); !ok {
			t.Error("measurement without a deadline")
		}
		if down.Load() {
			return 0, 0, errors.New("connection refused")
		}
		return 7, 42 * time.Second, nil
	}
	logs := &recordingHandler{}
	const maxAge = 50 * time.Millisecond
	b := newBacklog(t, measure, maxAge, time.Second, slog.New(logs))
	var clock atomic.Int64 // nanoseconds past an arbitrary start
	b.SetClock(func() time.Time { return time.Unix(0, clock.Load()) })
	older := func() { clock.Add(int64(maxAge + 10*time.Millisecond)) }

	for range 3 {
		if _, _, ok := gauges(t, b); ok {
			t.Fatal("gauges reported while the database is down")
		}
		older()
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("3 scrapes maxAge apart measured %d times, want 3", n)
	}
	if n := testutil.CollectAndCount(b); n != 0 {
		t.Errorf("%d metrics collected while down, want 0", n)
	}
	if warns := logs.count(slog.LevelWarn); warns != 1 {
		t.Errorf("outage logged %d warnings, want 1: %v", warns, logs.messages())
	}

	down.Store(false)
	older()
	before := calls.Load()
	for range 5 {
		if pending, oldest, ok := gauges(t, b); !ok || pending != 7 || oldest != 42 {
			t.Fatalf("after recovery: pending %v, oldest %v (reported %v); want 7 and 42", pending, oldest, ok)
		}
	}
	if n := calls.Load() - before; n != 1 {
		t.Errorf("5 scrapes within maxAge measured %d times, want 1", n)
	}
	if !strings.Contains(strings.Join(logs.messages(), "\n"), "available again") {
		t.Errorf("recovery not logged: %v", logs.messages())
	}
}
