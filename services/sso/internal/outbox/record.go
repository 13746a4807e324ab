package outbox

import (
	"context"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// EventUserRegistered is the outbox event_type of the event announcing a
// new user, and the event_type header of its Kafka message.
const EventUserRegistered = "UserRegistered"

// Record is an outbox row as its writer stores it and the relay publishes
// it right after the commit (Relay.Enqueue).
type Record struct {
	// ID is the event id (a UUID), the row's key; consumers deduplicate on it.
	ID string
	// EventType is the row's event_type (EventUserRegistered when empty),
	// which says what message Payload holds.
	EventType string
	// Topic is the Kafka topic the relay publishes to.
	Topic string
	// Key is the Kafka message key.
	Key string
	// Payload is the marshalled event, not yet framed for the Schema Registry.
	Payload []byte
	// TraceContext is the W3C trace context (traceparent, tracestate) of the
	// request, so the relay's publish continues its trace.
	TraceContext map[string]string
}

// EventFunc builds the UserRegistered record of u, which the user store is
// about to write in the same transaction as u and u's data key, key (see
// sealbox.NewDataKey), which seals the personal data the event carries;
// ctx is the request's, carrying its trace.
type EventFunc func(ctx context.Context, u user.User, key []byte) (Record, error)

// UserRegistered returns the EventFunc of sso's UserRegistered events on
// topic, keyed by user id so a user's events stay in order on one
// partition. The request's trace context is stored with each record, so
// the relay's publish, and the consumers after it, continue the
// registration's trace. The e-mail address and the name travel sealed
// under the user's data key only (sealbox.SealPersonal): the clear fields
// stay empty, so the event is unreadable once the key is destroyed.
func UserRegistered(topic string) EventFunc {
	return func(ctx context.Context, u user.User, key []byte) (Record, error) {
		eventID := uuid.NewString()
		personal, err := sealbox.SealPersonal(key, sealbox.DataKeyVersion, u.ID, eventID,
			&eventsv1.PersonalData{Email: u.Email, FullName: u.FullName})
		if err != nil {
			return Record{}, err
		}
		payload, err := proto.Marshal(&eventsv1.UserRegistered{
			EventId:      eventID,
			UserId:       u.ID,
			RegisteredAt: timestamppb.New(u.CreatedAt),
			Personal:     personal,
		})
		if err != nil {
			return Record{}, err
		}
		carrier := propagation.MapCarrier{}
		otel.GetTextMapPropagator().Inject(ctx, carrier)
		return Record{
			ID:           eventID,
			Topic:        topic,
			Key:          u.ID,
			Payload:      payload,
			TraceContext: carrier,
		}, nil
	}
}
