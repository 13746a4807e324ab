package service_test

import (
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/config"
	"github.com/ssokit/platform/services/sso/internal/service"
)

// TestUnregisteredSchemaKeepsEventsUntilRegistered: sso registers no
// schema. Before the deploy step has registered its topic's schema, an
// event fails to publish, stays in the outbox with an error that says what
// to run, and is delivered once the step has run.
func TestUnregisteredSchemaKeepsEventsUntilRegistered(t *testing.T) {
	h := sso(t)
	topic := testenv.Name(t, "unregistered")
	for _, name := range []string{topic, topic + "_account"} {
		if _, err := createTopic(t.Context(), name); err != nil {
			t.Fatal(err)
		}
	}
	p := h.spawn(t, func(c *config.Config) {
		c.Events.Topic = topic
		c.Events.AccountTopic = topic + "_account"
		c.Outbox.MaxBackoff = 2 * time.Second
	})

	reg := p.rest(t, http.MethodPost, "/v1/auth/register", "", map[string]any{"email": email(t), "password": goodPassword})
	if reg.Status != http.StatusOK {
		t.Fatalf("register: %d %s", reg.Status, reg.Raw)
	}
	userID, access := reg.str("user_id"), reg.str("access_token")
	status := func() string {
		return p.rest(t, http.MethodGet, "/v1/users/me", access, nil).str("registration_event_status")
	}
	if !testenv.Eventually(10*time.Second, 20*time.Millisecond, func() bool {
		return status() == "REGISTRATION_EVENT_STATUS_FAILED"
	}) {
		t.Fatalf("registration_event_status = %s, want FAILED while the schema is not registered", status())
	}
	var lastError sql.NullString
	if err := h.primary.Get(&lastError, "SELECT last_error FROM outbox WHERE aggregate_id = $1 AND event_type = 'UserRegistered'", userID); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lastError.String, "run `sso schemas register`") || !strings.Contains(lastError.String, topic) {
		t.Errorf("last_error = %q, want it to name the topic and say what to run", lastError.String)
	}
	if _, err := h.registry.GetLatestSchemaMetadata(topic + "-value"); err == nil {
		t.Fatal("the relay registered a schema")
	}

	if err := service.RegisterSchemas(t.Context(), p.cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("schemas register: %v", err)
	}
	if !testenv.Eventually(30*time.Second, 50*time.Millisecond, func() bool {
		return status() == "REGISTRATION_EVENT_STATUS_SUCCESSFUL"
	}) {
		t.Fatalf("registration_event_status = %s, want SUCCESSFUL once the schema is registered", status())
	}
	msg := consumeKey(t, topic, userID)
	deser, err := protobuf.NewDeserializer(h.registry, serde.ValueSerde, protobuf.NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	got := &eventsv1.UserRegistered{}
	if err := deser.DeserializeInto(topic, msg.Value, got); err != nil {
		t.Fatalf("deserialize: %v", err)
	}
	if got.GetUserId() != userID {
		t.Errorf("user_id = %q, want %q", got.GetUserId(), userID)
	}
}
