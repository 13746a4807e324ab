package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// AccountEventFunc builds the outbox record of an account event, which the
// store is about to write in the same transaction as the change it
// announces; ctx is the request's, carrying its trace.
type AccountEventFunc func(ctx context.Context, e user.AccountEvent) (Record, error)

// AccountEvents returns the AccountEventFunc of sso's events.v1.AccountEvent
// records on topic, keyed by user id so that a user's events stay in order
// on one partition. The one-time token of a verification or reset request
// is sealed with ring for the mail sender, bound to its purpose, user and
// event (sealbox.AAD): the record, the table and the topic never hold it
// in clear.
func AccountEvents(topic string, ring *sealbox.Ring) AccountEventFunc {
	return func(ctx context.Context, e user.AccountEvent) (Record, error) {
		eventID := uuid.NewString()
		ev := &eventsv1.AccountEvent{
			EventId:    eventID,
			UserId:     e.UserID,
			OccurredAt: timestamppb.New(time.Now()),
		}
		seal := func() (*eventsv1.SealedSecret, *timestamppb.Timestamp, error) {
			if e.Token == nil || e.Token.Raw == "" {
				return nil, nil, fmt.Errorf("%s event without its token", e.Kind)
			}
			s, err := ring.Seal([]byte(e.Token.Raw), sealbox.AAD(string(e.Token.Purpose), e.UserID, eventID))
			return s, timestamppb.New(e.Token.ExpiresAt), err
		}
		switch e.Kind {
		case user.EventEmailVerificationRequested:
			sealed, exp, err := seal()
			if err != nil {
				return Record{}, err
			}
			ev.Kind = &eventsv1.AccountEvent_EmailVerificationRequested{EmailVerificationRequested: &eventsv1.EmailVerificationRequested{
				Email: e.Email, Token: sealed, ExpiresAt: exp,
			}}
		case user.EventPasswordResetRequested:
			sealed, exp, err := seal()
			if err != nil {
				return Record{}, err
			}
			ev.Kind = &eventsv1.AccountEvent_PasswordResetRequested{PasswordResetRequested: &eventsv1.PasswordResetRequested{
				Email: e.Email, Token: sealed, ExpiresAt: exp,
			}}
		case user.EventEmailVerified:
			ev.Kind = &eventsv1.AccountEvent_EmailVerified{EmailVerified: &eventsv1.EmailVerified{Email: e.Email}}
		case user.EventPasswordChanged:
			method := eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_CHANGE
			if e.Method == user.PasswordChangeReset {
				method = eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_RESET
			}
			ev.Kind = &eventsv1.AccountEvent_PasswordChanged{PasswordChanged: &eventsv1.PasswordChanged{Email: e.Email, Method: method}}
		case user.EventUserDeleted:
			ev.Kind = &eventsv1.AccountEvent_UserDeleted{UserDeleted: &eventsv1.UserDeleted{}}
		default:
			return Record{}, fmt.Errorf("unknown account event kind %q", e.Kind)
		}
		payload, err := proto.Marshal(ev)
		if err != nil {
			return Record{}, err
		}
		carrier := propagation.MapCarrier{}
		otel.GetTextMapPropagator().Inject(ctx, carrier)
		return Record{
			ID:           eventID,
			EventType:    string(e.Kind),
			Topic:        topic,
			Key:          e.UserID,
			Payload:      payload,
			TraceContext: carrier,
		}, nil
	}
}
