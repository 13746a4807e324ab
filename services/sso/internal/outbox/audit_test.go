package outbox_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/outbox"
)

func TestAuditEventsCarryIDsTraceAndTheirRoundTrip(t *testing.T) {
	t.Parallel()
	ctx, span := otel.Tracer("outbox_test").Start(t.Context(), "POST /v1/admin/users/{user_id}/disable")
	defer span.End()
	admin, target := uuid.NewString(), uuid.NewString()
	e := audit.Entry{Actor: audit.Admin(admin), Action: audit.ActionUserDisabled, TargetID: target, ClientAddress: "192.0.2.9"}

	rec, err := outbox.AuditEvents("audit-events")(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if rec.EventType != outbox.EventAudit || rec.Topic != "audit-events" || rec.Key != target || !outbox.Decodes(rec.EventType) {
		t.Errorf("record = %+v; want an %s on audit-events keyed by the target, which the relay decodes", rec, outbox.EventAudit)
	}
	var got eventsv1.AuditEvent
	if err := proto.Unmarshal(rec.Payload, &got); err != nil {
		t.Fatal(err)
	}
	want := &eventsv1.AuditEvent{
		EventId: rec.ID, OccurredAt: got.GetOccurredAt(), ActorUserId: admin, ActorKind: eventsv1.AuditActorKind_AUDIT_ACTOR_KIND_ADMIN,
		Action: eventsv1.AuditAction_AUDIT_ACTION_ADMIN_USER_DISABLED, TargetUserId: target, ClientAddress: "192.0.2.9",
		TraceId: span.SpanContext().TraceID().String(), Outcome: eventsv1.AuditOutcome_AUDIT_OUTCOME_SUCCESS,
	}
	if !proto.Equal(&got, want) {
		t.Errorf("payload = %v, want %v", &got, want)
	}
	if d := time.Since(got.GetOccurredAt().AsTime()); d < 0 || d > time.Minute {
		t.Errorf("occurred_at is %v ago", d)
	}
	back := outbox.AuditEntry(&got)
	e.ID, e.OccurredAt, e.TraceID, e.Outcome = rec.ID, got.GetOccurredAt().AsTime(), want.TraceId, audit.OutcomeSuccess
	if back != e {
		t.Errorf("round trip = %+v, want %+v", back, e)
	}

	// Without a target the key is the client address; an action newer than
	// this build survives as its number.
	burst, err := outbox.AuditEvents("audit-events")(ctx, audit.Entry{Actor: audit.Anonymous(), Action: audit.ActionLoginFailureBurst, ClientAddress: "192.0.2.10"})
	if err != nil || burst.Key != "192.0.2.10" {
		t.Errorf("burst record key = %q, %v; want the client address", burst.Key, err)
	}
	if a := outbox.AuditAction(eventsv1.AuditAction(99)); a != "99" {
		t.Errorf("an unknown action reads as %q, want 99", a)
	}
	if _, err := outbox.AuditEvents("audit-events")(ctx, audit.Entry{Action: "made_up"}); err == nil {
		t.Error("an unknown action was built")
	}
}
