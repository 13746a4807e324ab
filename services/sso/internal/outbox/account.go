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
// announces; key is the user's data key, which seals the personal data the
// event carries (nil for a UserDeleted event, which carries none); ctx is
// the request's, carrying its trace.
type AccountEventFunc func(ctx context.Context, e user.AccountEvent, key []byte) (Record, error)

// AccountEvents returns the AccountEventFunc of sso's events.v1.AccountEvent
// records on topic, keyed by user id so that a user's events stay in order
// on one partition. The one-time token of a verification or reset request
// is sealed with ring for the mail sender, bound to its purpose, user and
// event (sealbox.AAD): the record, the table and the topic never hold it
// in clear. The e-mail address travels sealed under the user's data key
// only (sealbox.SealPersonal), never in the clear email fields.
func AccountEvents(topic string, ring *sealbox.Ring) AccountEventFunc {
	return func(ctx context.Context, e user.AccountEvent, key []byte) (Record, error) {
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
		var personal *eventsv1.SealedPersonal
		if e.Kind != user.EventUserDeleted {
			var err error
			personal, err = sealbox.SealPersonal(key, sealbox.DataKeyVersion, e.UserID, eventID, &eventsv1.PersonalData{Email: e.Email})
			if err != nil {
				return Record{}, fmt.Errorf("%s event: %w", e.Kind, err)
			}
		}
		switch e.Kind {
		case user.EventEmailVerificationRequested:
			sealed, exp, err := seal()
			if err != nil {
				return Record{}, err
			}
			ev.Kind = &eventsv1.AccountEvent_EmailVerificationRequested{EmailVerificationRequested: &eventsv1.EmailVerificationRequested{
				Personal: personal, Token: sealed, ExpiresAt: exp,
			}}
		case user.EventPasswordResetRequested:
			sealed, exp, err := seal()
			if err != nil {
				return Record{}, err
			}
			ev.Kind = &eventsv1.AccountEvent_PasswordResetRequested{PasswordResetRequested: &eventsv1.PasswordResetRequested{
				Personal: personal, Token: sealed, ExpiresAt: exp,
			}}
		case user.EventEmailVerified:
			ev.Kind = &eventsv1.AccountEvent_EmailVerified{EmailVerified: &eventsv1.EmailVerified{Personal: personal}}
		case user.EventPasswordChanged:
			method := eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_CHANGE
			if e.Method == user.PasswordChangeReset {
				method = eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_RESET
			}
			ev.Kind = &eventsv1.AccountEvent_PasswordChanged{PasswordChanged: &eventsv1.PasswordChanged{Personal: personal, Method: method}}
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
