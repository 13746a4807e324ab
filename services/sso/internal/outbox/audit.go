package outbox

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/gateway"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/services/sso/internal/audit"
)

// EventAudit is the outbox event_type of every events.v1.AuditEvent row.
const EventAudit = "AuditEvent"

// AuditEventFunc builds the outbox record of an audit entry, which the
// store writes in the transaction of the change it records when there is
// one; ctx is the request's.
type AuditEventFunc func(ctx context.Context, e audit.Entry) (Record, error)

// AuditEvents returns the AuditEventFunc of sso's events.v1.AuditEvent
// records on topic. It fills what the entry leaves empty from ctx: a new
// event id, the time, the trace id of the request's span, and the client
// address the gRPC server resolved (gateway.ClientIP). The key is the
// target user id, so a user's entries stay in order on one partition; an
// entry without a target (a burst of failed logins from one address) is
// keyed by its client address.
func AuditEvents(topic string) AuditEventFunc {
	return func(ctx context.Context, e audit.Entry) (Record, error) {
		if !e.Action.Known() {
			return Record{}, fmt.Errorf("unknown audit action %q", e.Action)
		}
		if e.ID == "" {
			e.ID = uuid.NewString()
		}
		if e.OccurredAt.IsZero() {
			e.OccurredAt = time.Now()
		}
		if e.TraceID == "" {
			if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
				e.TraceID = sc.TraceID().String()
			}
		}
		if e.ClientAddress == "" {
			e.ClientAddress = gateway.ClientIP(ctx)
		}
		if e.Outcome == "" {
			e.Outcome = audit.OutcomeSuccess
		}
		payload, err := proto.Marshal(AuditProto(e))
		if err != nil {
			return Record{}, err
		}
		carrier := propagation.MapCarrier{}
		otel.GetTextMapPropagator().Inject(ctx, carrier)
		key := e.TargetID
		if key == "" {
			key = e.ClientAddress
		}
		return Record{
			ID:           e.ID,
			EventType:    EventAudit,
			Topic:        topic,
			Key:          key,
			Payload:      payload,
			TraceContext: carrier,
		}, nil
	}
}

// AuditProto is the event of e.
func AuditProto(e audit.Entry) *eventsv1.AuditEvent {
	return &eventsv1.AuditEvent{
		EventId:       e.ID,
		OccurredAt:    timestamppb.New(e.OccurredAt),
		ActorUserId:   e.Actor.ID,
		ActorKind:     eventsv1.AuditActorKind(eventsv1.AuditActorKind_value["AUDIT_ACTOR_KIND_"+strings.ToUpper(string(e.Actor.Kind))]),
		Action:        AuditActionProto(e.Action),
		TargetUserId:  e.TargetID,
		ClientAddress: e.ClientAddress,
		TraceId:       e.TraceID,
		Outcome:       eventsv1.AuditOutcome(eventsv1.AuditOutcome_value["AUDIT_OUTCOME_"+strings.ToUpper(string(e.Outcome))]),
	}
}

// AuditEntry is the entry of ev; values this build does not know become
// empty.
func AuditEntry(ev *eventsv1.AuditEvent) audit.Entry {
	return audit.Entry{
		ID:            ev.GetEventId(),
		OccurredAt:    ev.GetOccurredAt().AsTime(),
		Actor:         audit.Actor{ID: ev.GetActorUserId(), Kind: audit.ActorKind(enumName(ev.GetActorKind().String(), "AUDIT_ACTOR_KIND_"))},
		Action:        AuditAction(ev.GetAction()),
		TargetID:      ev.GetTargetUserId(),
		ClientAddress: ev.GetClientAddress(),
		TraceID:       ev.GetTraceId(),
		Outcome:       audit.Outcome(enumName(ev.GetOutcome().String(), "AUDIT_OUTCOME_")),
	}
}

// AuditActionProto is the enum value of a; AUDIT_ACTION_UNSPECIFIED for
// none.
func AuditActionProto(a audit.Action) eventsv1.AuditAction {
	return eventsv1.AuditAction(eventsv1.AuditAction_value["AUDIT_ACTION_"+strings.ToUpper(string(a))])
}

// AuditAction is the Action of v: empty for UNSPECIFIED, and the number
// itself for a value newer than this build, so it is stored as it came.
func AuditAction(v eventsv1.AuditAction) audit.Action {
	return audit.Action(enumName(v.String(), "AUDIT_ACTION_"))
}

// enumName turns a proto enum name into the domain's lowercase value: ""
// for UNSPECIFIED; an unknown number, which String prints as digits, stays
// digits.
func enumName(name, prefix string) string {
	s := strings.ToLower(strings.TrimPrefix(name, prefix))
	if s == "unspecified" {
		return ""
	}
	return s
}
