package auditfeed_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auditfeed"
)

// store keeps entries by id, as audit_events does; down makes it fail as
// an unreachable database would.
type store struct {
	mu      sync.Mutex
	entries map[string]audit.Entry
	down    bool
}

func (s *store) Insert(_ context.Context, e audit.Entry) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return false, fmt.Errorf("connection refused: %w", audit.ErrUnavailable)
	}
	if _, ok := s.entries[e.ID]; ok {
		return false, nil
	}
	s.entries[e.ID] = e
	return true, nil
}

func event() *eventsv1.AuditEvent {
	return &eventsv1.AuditEvent{
		EventId: uuid.NewString(), OccurredAt: timestamppb.New(time.Now().Add(-time.Second)),
		ActorUserId: uuid.NewString(), ActorKind: eventsv1.AuditActorKind_AUDIT_ACTOR_KIND_ADMIN,
		Action: eventsv1.AuditAction_AUDIT_ACTION_USER_DELETED, TargetUserId: uuid.NewString(),
		ClientAddress: "192.0.2.1", TraceId: "4bf92f3577b34da6a3ce929d0e0e4736", Outcome: eventsv1.AuditOutcome_AUDIT_OUTCOME_SUCCESS,
	}
}

func TestHandlerStoresOnceRejectsInvalidAndWaitsOutOutages(t *testing.T) {
	st := &store{entries: map[string]audit.Entry{}}
	reg := prometheus.NewRegistry()
	h, err := auditfeed.NewHandler(st, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ev := event()
	for range 2 { // a redelivery
		if err := h.AuditEvent(ctx, ev, consumer.Metadata{}); err != nil {
			t.Fatal(err)
		}
	}
	got, ok := st.entries[ev.GetEventId()]
	if len(st.entries) != 1 || !ok || got.Action != audit.ActionUserDeleted || got.Actor != audit.Admin(ev.GetActorUserId()) ||
		got.TargetID != ev.GetTargetUserId() || got.TraceID != ev.GetTraceId() || got.Outcome != audit.OutcomeSuccess {
		t.Fatalf("stored %+v", st.entries)
	}
	if n := testutil.ToFloat64(h.Events(audit.ActionUserDeleted)); n != 1 {
		t.Errorf("sso_audit_events_total{action=user_deleted} = %v, want 1 (once per event id)", n)
	}

	for name, mutate := range map[string]func(*eventsv1.AuditEvent){
		"no id":          func(e *eventsv1.AuditEvent) { e.EventId = "" },
		"id not a uuid":  func(e *eventsv1.AuditEvent) { e.EventId = "{" + uuid.NewString() + "}" },
		"no time":        func(e *eventsv1.AuditEvent) { e.OccurredAt = nil },
		"no action":      func(e *eventsv1.AuditEvent) { e.Action = eventsv1.AuditAction_AUDIT_ACTION_UNSPECIFIED },
		"bad target id":  func(e *eventsv1.AuditEvent) { e.TargetUserId = "ada@example.com" },
		"long trace id":  func(e *eventsv1.AuditEvent) { e.TraceId += e.TraceId },
		"bad actor id":   func(e *eventsv1.AuditEvent) { e.ActorUserId = "root" },
		"long client ip": func(e *eventsv1.AuditEvent) { e.ClientAddress = string(make([]byte, 65)) },
	} {
		bad := event()
		mutate(bad)
		if err := h.AuditEvent(ctx, bad, consumer.Metadata{}); !errors.Is(err, consumer.ErrPermanent) {
			t.Errorf("%s: %v, want a permanent failure (dead-lettered)", name, err)
		}
	}
	// An action newer than this build is kept as its number.
	newer := event()
	newer.Action = eventsv1.AuditAction(42)
	if err := h.AuditEvent(ctx, newer, consumer.Metadata{}); err != nil || st.entries[newer.GetEventId()].Action != "42" {
		t.Errorf("a newer action: %v, stored %+v", err, st.entries[newer.GetEventId()])
	}

	st.down = true
	if err := h.AuditEvent(ctx, event(), consumer.Metadata{}); !errors.Is(err, consumer.ErrTransient) {
		t.Errorf("store down: %v, want a transient failure (retried, never dead-lettered)", err)
	}
}
