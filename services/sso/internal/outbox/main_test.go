package outbox_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/kafkatest"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/postgres"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// spans records every span the tests' code ends, the relay's producer
// spans among them. Tracing is global, as in the service.
var spans = tracetest.NewSpanRecorder()

func TestMain(m *testing.M) {
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	os.Exit(m.Run())
}

// testDB returns a migrated database of the test's own on the primary,
// dropped when the test ends: relays sweep a whole table, so tests sharing
// one would take each other's rows.
func testDB(tb testing.TB) *sqlx.DB {
	tb.Helper()
	name := testenv.Database(tb, "sso_outbox_test")
	db, err := sqlx.Open("postgres", testenv.WithDatabase(testenv.PGPrimaryDSN, name))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := postgres.Migrate(testenv.Context(tb, time.Minute), db, 2); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return db
}

// kafkaEnv is a topic of the test's own, created with three partitions and
// deleted afterwards with its registry subject, and a serializer for it.
type kafkaEnv struct {
	topic    string
	registry schemaregistry.Client
	ser      *protobuf.Serializer
}

func newKafkaEnv(tb testing.TB) kafkaEnv {
	tb.Helper()
	testenv.Require(tb, testenv.KafkaBrokers, testenv.HostPort(testenv.SchemaRegistryURL))
	ctx := testenv.Context(tb, 30*time.Second)
	topic := testenv.Name(tb, "outbox")
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(admin.Close)
	res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: 3, ReplicationFactor: 1}})
	if err != nil || res[0].Error.Code() != kafka.ErrNoError {
		tb.Fatalf("create topic: %v %v", err, res)
	}
	tb.Cleanup(func() { _, _ = admin.DeleteTopics(context.Background(), []string{topic}) })

	registry, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		subject := topic + "-value"
		if _, err := registry.DeleteSubject(subject, false); err == nil {
			_, _ = registry.DeleteSubject(subject, true)
		}
		registry.Close()
	})
	ser, err := protobuf.NewSerializer(registry, serde.ValueSerde, protobuf.NewSerializerConfig())
	if err != nil {
		tb.Fatal(err)
	}
	return kafkaEnv{topic: topic, registry: registry, ser: ser}
}

// newProducer returns an outbox producer for brokers, closed after the
// test (and after any relay the test runs later, whose cleanup runs first).
func newProducer(tb testing.TB, brokers string, messageTimeout time.Duration) *kafka.Producer {
	tb.Helper()
	p, err := outbox.NewProducer(brokers, messageTimeout)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	return p
}

// quietLog discards the relay's logs unless SSO_OUTBOX_TEST_LOG is set.
func quietLog() *slog.Logger {
	if os.Getenv("SSO_OUTBOX_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// start runs r until the returned stop is called (or the test ends) and
// returns what Run returned.
func start(tb testing.TB, r *outbox.Relay) (stop func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = fmt.Errorf("Run did not return 30s after cancel")
			}
		})
		return err
	}
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Errorf("relay: %v", err)
		}
	})
	return stop
}

// keyRing seals the data keys of the users the tests register (withKeys).
var keyRing = func() *sealbox.Ring {
	line, err := sealbox.NewKeyLine("test")
	if err != nil {
		panic(err)
	}
	r, err := sealbox.Parse([]byte(line))
	if err != nil {
		panic(err)
	}
	return r
}()

var withKeys = postgres.WithDataKeys(keyRing)

// dataKey is the data key users stored for the user, as a consumer opens it.
func dataKey(tb testing.TB, users *postgres.Users, userID string) []byte {
	tb.Helper()
	wrapped, err := users.DataKey(tb.Context(), userID, sealbox.DataKeyVersion)
	if err != nil {
		tb.Fatalf("data key of %s: %v", userID, err)
	}
	key, err := keyRing.UnwrapDataKey(userID, sealbox.DataKeyVersion, wrapped)
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

// assertRegistered checks that got is the UserRegistered event eventID of
// u, its personal data sealed under key and nothing personal in clear.
func assertRegistered(tb testing.TB, got *eventsv1.UserRegistered, eventID string, u user.User, key []byte) {
	tb.Helper()
	want := &eventsv1.UserRegistered{EventId: eventID, UserId: u.ID, RegisteredAt: timestamppb.New(u.CreatedAt)}
	sealed := got.GetPersonal()
	clone := proto.Clone(got).(*eventsv1.UserRegistered)
	clone.Personal = nil
	if !proto.Equal(clone, want) {
		tb.Errorf("event = %v\nwant    %v (and the personal data sealed)", clone, want)
	}
	p, err := sealbox.OpenPersonal(key, u.ID, eventID, sealed)
	if err != nil || p.GetEmail() != u.Email || p.GetFullName() != u.FullName {
		tb.Errorf("personal data = %v, %v; want %q, %q", p, err, u.Email, u.FullName)
	}
}

// userRegistered is a UserRegistered event of u as tests seed it directly.
func userRegistered(eventID string, u user.User) *eventsv1.UserRegistered {
	return &eventsv1.UserRegistered{
		EventId:      eventID,
		UserId:       u.ID,
		Email:        u.Email,
		FullName:     u.FullName,
		RegisteredAt: timestamppb.New(u.CreatedAt),
	}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func newUser(tb testing.TB) user.User {
	return user.User{
		ID:           newID(),
		Email:        testenv.Name(tb, "u") + "@example.test",
		FullName:     "Ada Lovelace",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		CreatedAt:    time.Now().UTC().Truncate(time.Microsecond),
	}
}

// register creates a user inside a span of its own, as a request would,
// and returns the user and the span's context.
func register(tb testing.TB, users *postgres.Users) (user.User, trace.SpanContext) {
	tb.Helper()
	ctx, span := otel.Tracer("outbox_test").Start(tb.Context(), "POST /v1/auth/register")
	defer span.End()
	u := newUser(tb)
	if err := users.Create(ctx, u); err != nil {
		tb.Fatal(err)
	}
	return u, span.SpanContext()
}

// seed describes an outbox row written directly, in a state the relay may
// find it in.
type seed struct {
	status     string
	attempts   int
	lastError  string
	updatedAgo time.Duration
	// nextIn is next_attempt_at relative to now; nil stores NULL.
	nextIn *time.Duration
}

func in(d time.Duration) *time.Duration { return &d }

// insert writes a UserRegistered row for a new user on topic, with the
// trace context of a span of its own, and returns the row id and the event.
func insert(tb testing.TB, db *sqlx.DB, topic string, s seed) (string, *eventsv1.UserRegistered, trace.SpanContext) {
	tb.Helper()
	u := newUser(tb)
	id := newID()
	ev := userRegistered(id, u)
	payload, err := proto.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, span := otel.Tracer("outbox_test").Start(context.Background(), "seed")
	span.End()
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	tc, _ := json.Marshal(carrier)
	var next any
	if s.nextIn != nil {
		next = s.nextIn.Microseconds()
	}
	var lastError any
	if s.lastError != "" {
		lastError = s.lastError
	}
	_, err = db.ExecContext(tb.Context(), `INSERT INTO outbox
		(id, aggregate_id, event_type, topic, msg_key, payload, trace_context, status, attempts, last_error,
		 created_at, updated_at, next_attempt_at)
		VALUES ($1, $2::uuid, 'UserRegistered', $3, $2::text, $4, $5, $6, $7, $8,
		 now() - $9 * interval '1 microsecond', now() - $9 * interval '1 microsecond',
		 now() + $10::bigint * interval '1 microsecond')`,
		id, u.ID, topic, payload, string(tc), s.status, s.attempts, lastError, s.updatedAgo.Microseconds(), next)
	if err != nil {
		tb.Fatal(err)
	}
	return id, ev, span.SpanContext()
}

type outboxRow struct {
	ID            string         `db:"id"`
	Status        string         `db:"status"`
	Attempts      int            `db:"attempts"`
	LastError     sql.NullString `db:"last_error"`
	UpdatedAt     time.Time      `db:"updated_at"`
	NextAttemptAt sql.NullTime   `db:"next_attempt_at"`
	TraceContext  []byte         `db:"trace_context"`
}

func rowByID(tb testing.TB, db *sqlx.DB, id string) outboxRow {
	tb.Helper()
	var r outboxRow
	if err := db.GetContext(context.Background(), &r, `SELECT id, status, attempts, last_error, updated_at,
		next_attempt_at, trace_context FROM outbox WHERE id = $1`, id); err != nil {
		tb.Fatalf("outbox row %s: %v", id, err)
	}
	return r
}

// awaitStatus waits until every row in ids has status.
func awaitStatus(tb testing.TB, db *sqlx.DB, timeout time.Duration, status string, ids ...string) {
	tb.Helper()
	if !testenv.Eventually(timeout, 20*time.Millisecond, func() bool {
		for _, id := range ids {
			if rowByID(tb, db, id).Status != status {
				return false
			}
		}
		return true
	}) {
		for _, id := range ids {
			tb.Logf("row %+v", rowByID(tb, db, id))
		}
		tb.Fatalf("rows did not all become %s within %v", status, timeout)
	}
}

// consume reads topic from the start until want messages arrived, then for
// linger more to catch any extra, and returns all it read.
func consume(tb testing.TB, topic string, want int, linger time.Duration) []*kafka.Message {
	tb.Helper()
	c := kafkatest.Reader(tb, testenv.Name(tb, "g"), topic)
	defer c.Close()
	var msgs []*kafka.Message
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		m, err := c.ReadMessage(200 * time.Millisecond)
		if err != nil {
			if kerr, ok := err.(kafka.Error); ok && kerr.IsTimeout() {
				continue
			}
			tb.Fatalf("consume %s: %v", topic, err)
		}
		msgs = append(msgs, m)
		if len(msgs) == want {
			deadline = time.Now().Add(linger)
		}
	}
	if len(msgs) < want {
		tb.Fatalf("consumed %d messages from %s, want %d", len(msgs), topic, want)
	}
	return msgs
}

// header returns the value of the named header of m.
func header(m *kafka.Message, key string) string {
	i := slices.IndexFunc(m.Headers, func(h kafka.Header) bool { return h.Key == key })
	if i < 0 {
		return ""
	}
	return string(m.Headers[i].Value)
}

// traceOf returns the span context a W3C traceparent names.
func traceOf(traceparent string) trace.SpanContext {
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": traceparent})
	return trace.SpanContextFromContext(ctx)
}
