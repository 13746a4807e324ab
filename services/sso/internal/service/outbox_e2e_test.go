package service_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/otelkafka"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/kafkatest"
	"github.com/ssokit/platform/services/sso/internal/service"
)

// TestRegistrationPublishesUserRegistered registers over REST and follows
// the event out: GetMe reports it delivered within seconds, and an
// independent consumer reads it from the topic through the Schema Registry,
// keyed by the user, carrying the event id and the registration's trace.
func TestRegistrationPublishesUserRegistered(t *testing.T) {
	h := sso(t)
	ctx := testenv.Context(t, 60*time.Second)
	addr := email(t)
	reg := h.rest(t, http.MethodPost, "/v1/auth/register", "", map[string]any{
		"email": addr, "password": goodPassword, "full_name": "Grace Hopper",
	})
	if reg.Status != http.StatusOK || reg.str("user_id") == "" {
		t.Fatalf("register: %d %s", reg.Status, reg.Raw)
	}
	userID, access := reg.str("user_id"), reg.str("access_token")

	var me restResponse
	if !testenv.Eventually(10*time.Second, 50*time.Millisecond, func() bool {
		me = h.rest(t, http.MethodGet, "/v1/users/me", access, nil)
		return me.str("registration_event_status") == "REGISTRATION_EVENT_STATUS_SUCCESSFUL"
	}) {
		t.Fatalf("registration_event_status never became SUCCESSFUL: %s", me.Raw)
	}
	createdAt, err := time.Parse(time.RFC3339Nano, me.str("created_at"))
	if err != nil {
		t.Fatal(err)
	}

	var row struct {
		ID           string `db:"id"`
		TraceContext []byte `db:"trace_context"`
		Attempts     int    `db:"attempts"`
	}
	if err := h.primary.GetContext(ctx, &row, "SELECT id, trace_context, attempts FROM outbox WHERE aggregate_id = $1 AND event_type = 'UserRegistered'", userID); err != nil {
		t.Fatal(err)
	}
	if row.Attempts != 1 {
		t.Errorf("outbox attempts = %d, want 1 (delivered by the publish after commit)", row.Attempts)
	}
	var stored map[string]string
	if err := json.Unmarshal(row.TraceContext, &stored); err != nil {
		t.Fatal(err)
	}
	requestTrace := traceID(stored)
	if !requestTrace.IsValid() {
		t.Fatalf("outbox row has no trace context of the request: %s", row.TraceContext)
	}

	msg := consumeKey(t, h.cfg.Events.Topic, userID)
	got := &eventsv1.UserRegistered{}
	deser, err := protobuf.NewDeserializer(h.registry, serde.ValueSerde, protobuf.NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := deser.DeserializeInto(h.cfg.Events.Topic, msg.Value, got); err != nil {
		t.Fatalf("deserialize: %v", err)
	}
	// registered_at is the service's clock, created_at the same instant
	// as PostgreSQL keeps it: rounded to the microsecond.
	if d := got.GetRegisteredAt().AsTime().Sub(createdAt).Abs(); d > time.Microsecond {
		t.Errorf("registered_at = %v, created_at = %v", got.GetRegisteredAt().AsTime(), createdAt)
	}
	want := &eventsv1.UserRegistered{
		EventId:      row.ID,
		UserId:       userID,
		RegisteredAt: got.GetRegisteredAt(),
	}
	sealed := got.GetPersonal()
	clear := proto.Clone(got).(*eventsv1.UserRegistered)
	clear.Personal = nil
	if !proto.Equal(clear, want) {
		t.Errorf("event = %v\nwant    %v (and the personal data sealed)", clear, want)
	}
	// The address and the name open with the user's data key, as the
	// notifier gets it: from UserDataKeyService, sealed under the ring.
	conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := ssov1.NewUserDataKeyServiceClient(conn).GetUserDataKey(ctx, &ssov1.GetUserDataKeyRequest{UserId: userID})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := sealbox.Load(h.cfg.Events.SealingKeysFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ring.UnwrapDataKey(userID, resp.GetKeyVersion(), resp.GetSealedKey())
	if err != nil {
		t.Fatal(err)
	}
	if p, err := sealbox.OpenPersonal(key, userID, row.ID, sealed); err != nil || p.GetEmail() != addr || p.GetFullName() != "Grace Hopper" {
		t.Errorf("personal data = %v, %v; want %s, Grace Hopper", p, err, addr)
	}
	headers := otelkafka.HeaderCarrier{Headers: &msg.Headers}
	if id := headers.Get("event_id"); id != row.ID {
		t.Errorf("event_id header = %q, want %q", id, row.ID)
	}
	if typ := headers.Get("event_type"); typ != "UserRegistered" {
		t.Errorf("event_type header = %q, want UserRegistered", typ)
	}
	if tid := traceID(propagation.MapCarrier{"traceparent": headers.Get("traceparent")}); tid != requestTrace {
		t.Errorf("message trace = %s, want the registration's %s", tid, requestTrace)
	}

	subjects, err := h.registry.GetAllSubjects()
	if err != nil {
		t.Fatal(err)
	}
	if subject := h.cfg.Events.Topic + "-value"; !slices.Contains(subjects, subject) {
		t.Errorf("registry subjects %v lack %s", subjects, subject)
	}
}

// TestRegistrationWhileKafkaIsDown starts a second sso process, on the
// same database, whose Kafka cannot be reached: it stays ready, registers
// users as fast as ever, and reports their events failed; the first
// process's sweeper then delivers them, so they are never lost.
func TestRegistrationWhileKafkaIsDown(t *testing.T) {
	h := sso(t)
	cfg := h.cfg
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Kafka.Brokers = "127.0.0.1:1" // nothing listens there
	cfg.Kafka.MessageTimeout = time.Second
	cfg.Outbox.SweepInterval = time.Hour // retries are the healthy process's
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	proc, err := service.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("second sso: %v", err)
		}
	})
	down := *h
	down.baseURL = "http://" + proc.Addr("http")

	if !testenv.Eventually(10*time.Second, 50*time.Millisecond, func() bool {
		return down.rest(t, http.MethodGet, "/readyz", "", nil).Status == http.StatusOK
	}) {
		t.Fatal("sso without Kafka never became ready")
	}
	began := time.Now()
	reg := down.rest(t, http.MethodPost, "/v1/auth/register", "", map[string]any{"email": email(t), "password": goodPassword})
	if reg.Status != http.StatusOK {
		t.Fatalf("register without Kafka: %d %s", reg.Status, reg.Raw)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("register without Kafka took %v", d)
	}
	userID, access := reg.str("user_id"), reg.str("access_token")

	status := func() string {
		return down.rest(t, http.MethodGet, "/v1/users/me", access, nil).str("registration_event_status")
	}
	if !testenv.Eventually(10*time.Second, 20*time.Millisecond, func() bool {
		return status() == "REGISTRATION_EVENT_STATUS_FAILED"
	}) {
		t.Fatalf("registration_event_status = %s, want FAILED while Kafka is unreachable", status())
	}
	if !testenv.Eventually(20*time.Second, 50*time.Millisecond, func() bool {
		return status() == "REGISTRATION_EVENT_STATUS_SUCCESSFUL"
	}) {
		t.Fatalf("registration_event_status = %s, want SUCCESSFUL once a relay reaches Kafka", status())
	}
	var row struct {
		Attempts  int            `db:"attempts"`
		LastError sql.NullString `db:"last_error"`
	}
	if err := h.primary.Get(&row, "SELECT attempts, last_error FROM outbox WHERE aggregate_id = $1 AND event_type = 'UserRegistered'", userID); err != nil {
		t.Fatal(err)
	}
	if row.Attempts != 2 || row.LastError.Valid {
		t.Errorf("delivered row: attempts %d, last_error %v; want 2 (failed, then swept) and none", row.Attempts, row.LastError)
	}
	if m := consumeKey(t, h.cfg.Events.Topic, userID); header(m, "event_type") != "UserRegistered" {
		t.Errorf("event_type header = %q", header(m, "event_type"))
	}
}

func header(m *kafka.Message, key string) string {
	return otelkafka.HeaderCarrier{Headers: &m.Headers}.Get(key)
}

// traceID returns the trace id of a W3C trace context.
func traceID(carrier propagation.MapCarrier) trace.TraceID {
	ctx := propagation.TraceContext{}.Extract(context.Background(), carrier)
	return trace.SpanContextFromContext(ctx).TraceID()
}

// consumeKey reads topic from the beginning, in a group of its own, until
// a message keyed key arrives.
func consumeKey(t *testing.T, topic, key string) *kafka.Message {
	t.Helper()
	c := kafkatest.Reader(t, testenv.Name(t, "g"), topic)
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		m, err := c.ReadMessage(time.Second)
		if err != nil {
			if kerr, ok := err.(kafka.Error); ok && kerr.IsTimeout() {
				continue
			}
			t.Fatalf("consume %s: %v", topic, err)
		}
		if string(m.Key) == key {
			return m
		}
	}
	t.Fatalf("no message keyed %s on %s", key, topic)
	return nil
}
