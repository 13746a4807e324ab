package outbox_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/user"
)

func TestUserRegistered(t *testing.T) {
	t.Parallel()
	u := user.User{
		ID:        "0198c9a4-1111-7000-8000-000000000001",
		Email:     "ada@example.test",
		FullName:  "Ada Lovelace",
		CreatedAt: time.Date(2026, 11, 26, 19, 0, 0, 123000, time.UTC),
	}
	ctx, span := otel.Tracer("outbox_test").Start(t.Context(), "POST /v1/auth/register")
	defer span.End()

	key, err := sealbox.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := outbox.UserRegistered("user-registered")(ctx, u, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uuid.Parse(rec.ID); err != nil {
		t.Errorf("ID = %q, not a UUID: %v", rec.ID, err)
	}
	if rec.Topic != "user-registered" || rec.Key != u.ID {
		t.Errorf("topic, key = %q, %q; want user-registered, %q", rec.Topic, rec.Key, u.ID)
	}
	var got eventsv1.UserRegistered
	if err := proto.Unmarshal(rec.Payload, &got); err != nil {
		t.Fatal(err)
	}
	assertRegistered(t, &got, rec.ID, u, key)
	want := "00-" + span.SpanContext().TraceID().String() + "-" + span.SpanContext().SpanID().String() + "-01"
	if tp := rec.TraceContext["traceparent"]; tp != want {
		t.Errorf("traceparent = %q, want %q", tp, want)
	}

	again, err := outbox.UserRegistered("user-registered")(ctx, u, key)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == rec.ID {
		t.Errorf("two records of one user share the event id %s; consumers would drop the second", rec.ID)
	}
}
