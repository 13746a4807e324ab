package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/postgres"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// noSweeps keeps the sweeper out of a test about the publish after commit.
const noSweeps = time.Hour

// TestPublishAfterCommit follows registrations through the relay's
// after-commit path alone (the sweeper never runs): each event is consumed
// back from the topic by an independent consumer through the Schema
// Registry, keyed by the user, with the event id and a trace context
// continuing the registration's trace, and its row ends successful.
func TestPublishAfterCommit(t *testing.T) {
	t.Parallel()
	db, k := testDB(t), newKafkaEnv(t)
	relay := outbox.NewRelay(db, newProducer(t, testenv.KafkaBrokers, 10*time.Second), k.ser,
		outbox.Config{SweepInterval: noSweeps}, quietLog())
	users := postgres.NewUsers(db, nil, outbox.UserRegistered(k.topic), postgres.OnCommitted(relay.Enqueue), withKeys)
	stop := start(t, relay)

	type registration struct {
		user user.User
		span trace.SpanContext
	}
	byUser := map[string]registration{}
	for range 3 {
		u, sc := register(t, users)
		byUser[u.ID] = registration{u, sc}
	}
	var ids []string
	if err := db.Select(&ids, "SELECT id FROM outbox"); err != nil || len(ids) != 3 {
		t.Fatalf("outbox ids %v: %v", ids, err)
	}
	awaitStatus(t, db, 15*time.Second, "successful", ids...)
	var slowest time.Duration
	if err := db.Get(&slowest, "SELECT (extract(epoch FROM max(updated_at - created_at)) * 1e9)::bigint FROM outbox"); err != nil {
		t.Fatal(err)
	}
	t.Logf("commit to recorded delivery: at most %v", slowest)
	for _, id := range ids {
		row := rowByID(t, db, id)
		if row.Attempts != 1 || row.LastError.Valid || row.NextAttemptAt.Valid {
			t.Errorf("row %s = attempts %d, last_error %v, next_attempt_at %v; want 1, NULL, NULL",
				id, row.Attempts, row.LastError, row.NextAttemptAt)
		}
	}

	deser, err := protobuf.NewDeserializer(k.registry, serde.ValueSerde, protobuf.NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	msgs := consume(t, k.topic, 3, time.Second)
	if len(msgs) != 3 {
		t.Fatalf("consumed %d messages, want 3", len(msgs))
	}
	for _, m := range msgs {
		reg, ok := byUser[string(m.Key)]
		if !ok {
			t.Fatalf("message keyed %q: no such user", m.Key)
		}
		got := &eventsv1.UserRegistered{}
		if err := deser.DeserializeInto(k.topic, m.Value, got); err != nil {
			t.Fatalf("deserialize: %v", err)
		}
		eventID := header(m, outbox.HeaderEventID)
		assertRegistered(t, got, eventID, reg.user, dataKey(t, users, reg.user.ID))
		if !slices.Contains(ids, eventID) {
			t.Errorf("event_id header %q is no outbox row", eventID)
		}
		if typ := header(m, outbox.HeaderEventType); typ != outbox.EventUserRegistered {
			t.Errorf("event_type header = %q", typ)
		}
		msgTrace := traceOf(header(m, "traceparent"))
		if msgTrace.TraceID() != reg.span.TraceID() {
			t.Errorf("message trace %s, want the registration's %s", msgTrace.TraceID(), reg.span.TraceID())
		}
		// The header carries the producer span, a child of the request's.
		producer := endedSpan(t, msgTrace.SpanID())
		if producer.Parent().SpanID() != reg.span.SpanID() || producer.SpanKind() != trace.SpanKindProducer ||
			producer.Name() != k.topic+" publish" {
			t.Errorf("producer span %q kind %v parent %s; want %q, producer, parent %s",
				producer.Name(), producer.SpanKind(), producer.Parent().SpanID(), k.topic+" publish", reg.span.SpanID())
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
}

// endedSpan returns the ended span with the id.
func endedSpan(t *testing.T, id trace.SpanID) interface {
	Name() string
	SpanKind() trace.SpanKind
	Parent() trace.SpanContext
} {
	t.Helper()
	for _, s := range spans.Ended() {
		if s.SpanContext().SpanID() == id {
			return s
		}
	}
	t.Fatalf("no ended span %s", id)
	return nil
}

// TestSweeperPublishesDueRows seeds rows in every state a sweeper meets
// and checks it re-publishes exactly the stale and due ones.
func TestSweeperPublishesDueRows(t *testing.T) {
	t.Parallel()
	db, k := testDB(t), newKafkaEnv(t)
	cfg := outbox.Config{StaleAfter: 10 * time.Second, SweepInterval: 50 * time.Millisecond, MessageTimeout: 5 * time.Second}
	relay := outbox.NewRelay(db, newProducer(t, testenv.KafkaBrokers, cfg.MessageTimeout), k.ser, cfg, quietLog())

	tests := []struct {
		name      string
		seed      seed
		published bool
		attempts  int // after the test
	}{
		{"inProgress, stale (its process crashed)", seed{status: "inProgress", updatedAgo: time.Minute}, true, 1},
		{"failed, due", seed{status: "failed", attempts: 2, lastError: "delivery: timed out", updatedAgo: 5 * time.Second, nextIn: in(-time.Second)}, true, 3},
		{"failed, no next_attempt_at", seed{status: "failed", attempts: 1, updatedAgo: time.Second}, true, 2},
		{"failed, backing off", seed{status: "failed", attempts: 1, lastError: "delivery: timed out", nextIn: in(time.Hour)}, false, 1},
		{"inProgress, fresh (being delivered)", seed{status: "inProgress", updatedAgo: time.Second}, false, 0},
		{"successful", seed{status: "successful", attempts: 1, updatedAgo: time.Hour}, false, 1},
	}
	type seeded struct {
		id    string
		event *eventsv1.UserRegistered
		span  trace.SpanContext
		row   outboxRow
	}
	rows := make([]seeded, len(tests))
	var due []string
	for i, tt := range tests {
		id, ev, sc := insert(t, db, k.topic, tt.seed)
		rows[i] = seeded{id, ev, sc, rowByID(t, db, id)}
		if tt.published {
			due = append(due, id)
		}
	}

	start(t, relay)
	awaitStatus(t, db, 15*time.Second, "successful", due...)
	// More sweeps leave the others put. Run them here rather than wait for
	// the relay's: a claim is what a sweep does first, and a wrongly
	// claimed row would show below as changed.
	for range 3 {
		ids, _, err := relay.Claim(testenv.Context(t, 10*time.Second), 100)
		if err != nil || len(ids) != 0 {
			t.Fatalf("a further sweep claimed %v, %v; want nothing", ids, err)
		}
	}

	msgs := consume(t, k.topic, len(due), 2*time.Second)
	deser, err := protobuf.NewDeserializer(k.registry, serde.ValueSerde, protobuf.NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	consumed := map[string]*kafka.Message{}
	for _, m := range msgs {
		id := header(m, outbox.HeaderEventID)
		if consumed[id] != nil {
			t.Errorf("event %s published twice", id)
		}
		consumed[id] = m
	}

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rows[i]
			got := rowByID(t, db, s.id)
			if got.Attempts != tt.attempts {
				t.Errorf("attempts = %d, want %d", got.Attempts, tt.attempts)
			}
			m := consumed[s.id]
			if !tt.published {
				if m != nil {
					t.Fatal("published, want left alone")
				}
				if got.Status != s.row.Status || !got.UpdatedAt.Equal(s.row.UpdatedAt) || got.NextAttemptAt != s.row.NextAttemptAt {
					t.Errorf("row changed: %+v, was %+v", got, s.row)
				}
				return
			}
			if m == nil {
				t.Fatal("not published")
			}
			if got.Status != "successful" || got.LastError.Valid || got.NextAttemptAt.Valid {
				t.Errorf("row = %+v, want successful without last_error and next_attempt_at", got)
			}
			ev := &eventsv1.UserRegistered{}
			if err := deser.DeserializeInto(k.topic, m.Value, ev); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(ev, s.event) || string(m.Key) != s.event.GetUserId() {
				t.Errorf("message key %s value %v, want %s %v", m.Key, ev, s.event.GetUserId(), s.event)
			}
			if tr := traceOf(header(m, "traceparent")); tr.TraceID() != s.span.TraceID() {
				t.Errorf("message trace %s, want the row's %s", tr.TraceID(), s.span.TraceID())
			}
		})
	}
}

// TestConcurrentSweepersClaimEachRowOnce lets several relays claim from one
// table at the same time, in small batches, until it is empty: every due
// row is claimed, and by exactly one of them.
func TestConcurrentSweepersClaimEachRowOnce(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	const rows, sweepers, batch = 500, 6, 7
	want := map[string]bool{}
	for range rows {
		id, _, _ := insert(t, db, "unused", seed{status: "failed", attempts: 1, nextIn: in(-time.Second)})
		want[id] = true
	}

	ctx := testenv.Context(t, time.Minute)
	claims := make([][]string, sweepers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range sweepers {
		r := outbox.NewRelay(db, nil, nil, outbox.Config{StaleAfter: time.Hour}, quietLog())
		wg.Go(func() {
			<-start
			for {
				ids, attempts, err := r.Claim(ctx, batch)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ids) == 0 {
					return
				}
				for _, a := range attempts {
					if a != 2 {
						t.Errorf("claimed attempts = %d, want 2", a)
					}
				}
				claims[i] = append(claims[i], ids...)
			}
		})
	}
	close(start)
	wg.Wait()

	seen := map[string]int{}
	total := 0
	for i, ids := range claims {
		t.Logf("sweeper %d claimed %d rows", i, len(ids))
		total += len(ids)
		for _, id := range ids {
			seen[id]++
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("row %s claimed %d times", id, n)
		}
	}
	if total != rows || !maps.Equal(boolKeys(seen), want) {
		t.Fatalf("claimed %d rows (%d distinct), want each of %d once", total, len(seen), rows)
	}
	var inProgress int
	if err := db.Get(&inProgress, "SELECT count(*) FROM outbox WHERE status = 'inProgress' AND attempts = 2"); err != nil || inProgress != rows {
		t.Fatalf("claimed rows inProgress with attempts 2: %d, %v; want %d", inProgress, err, rows)
	}
	// Freshly claimed rows are no one's to claim until they are stale.
	r := outbox.NewRelay(db, nil, nil, outbox.Config{StaleAfter: time.Hour}, quietLog())
	if ids, _, err := r.Claim(ctx, rows); err != nil || len(ids) != 0 {
		t.Fatalf("claim after all were claimed = %d rows, %v; want none", len(ids), err)
	}
}

func boolKeys(m map[string]int) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// TestTwoRelaysPublishEachRowOnce runs two complete relays, as two sso
// processes would, over one backlog: every event reaches the topic exactly
// once.
func TestTwoRelaysPublishEachRowOnce(t *testing.T) {
	t.Parallel()
	db, k := testDB(t), newKafkaEnv(t)
	const rows = 300
	var ids []string
	for range rows {
		id, _, _ := insert(t, db, k.topic, seed{status: "failed", attempts: 1, nextIn: in(-time.Second)})
		ids = append(ids, id)
	}
	cfg := outbox.Config{StaleAfter: time.Minute, SweepInterval: 20 * time.Millisecond, BatchSize: 10, MessageTimeout: 10 * time.Second}
	for range 2 {
		start(t, outbox.NewRelay(db, newProducer(t, testenv.KafkaBrokers, cfg.MessageTimeout), k.ser, cfg, quietLog()))
	}
	awaitStatus(t, db, 30*time.Second, "successful", ids...)

	perEvent := map[string]int{}
	for _, m := range consume(t, k.topic, rows, 2*time.Second) {
		perEvent[header(m, outbox.HeaderEventID)]++
	}
	for _, id := range ids {
		if perEvent[id] != 1 {
			t.Errorf("event %s published %d times, want 1", id, perEvent[id])
		}
	}
	var attempts []int
	if err := db.Select(&attempts, "SELECT DISTINCT attempts FROM outbox"); err != nil || !slices.Equal(attempts, []int{2}) {
		t.Fatalf("attempts after one claim each = %v, %v; want [2]", attempts, err)
	}
}

// TestKafkaDownThenUp registers users while Kafka cannot be reached: the
// registrations succeed at once, the rows go failed with the reason and a
// growing attempt count, retried with backoff, and the outage is logged
// once. Once a relay can reach Kafka, every event is delivered.
func TestKafkaDownThenUp(t *testing.T) {
	t.Parallel()
	db, k := testDB(t), newKafkaEnv(t)
	cfg := outbox.Config{
		StaleAfter:     3 * time.Second,
		SweepInterval:  50 * time.Millisecond,
		InitialBackoff: 200 * time.Millisecond,
		MaxBackoff:     400 * time.Millisecond,
		MessageTimeout: time.Second,
		FlushTimeout:   3 * time.Second,
	}
	logs := &recordingHandler{}
	reg := prometheus.NewRegistry()
	metrics, err := outbox.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	down := outbox.NewRelay(db, newProducer(t, "127.0.0.1:1", cfg.MessageTimeout), k.ser, cfg, slog.New(logs),
		outbox.WithMetrics(metrics))
	users := postgres.NewUsers(db, nil, outbox.UserRegistered(k.topic), postgres.OnCommitted(down.Enqueue), withKeys)
	stopDown := start(t, down)

	const n = 3
	for range n {
		began := time.Now()
		register(t, users)
		if d := time.Since(began); d > 500*time.Millisecond {
			t.Errorf("registration took %v while Kafka is down", d)
		}
	}
	var ids []string
	if err := db.Select(&ids, "SELECT id FROM outbox"); err != nil || len(ids) != n {
		t.Fatalf("outbox ids %v: %v", ids, err)
	}
	// Failed, then claimed again and failed again: attempts reach 2.
	if !testenv.Eventually(20*time.Second, 50*time.Millisecond, func() bool {
		for _, id := range ids {
			if r := rowByID(t, db, id); r.Status != "failed" || r.Attempts < 2 {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("rows never failed twice: %+v", rowByID(t, db, ids[0]))
	}
	if err := stopDown(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	for _, id := range ids {
		r := rowByID(t, db, id)
		if r.Status != "failed" || !r.LastError.Valid || r.LastError.String == "" || r.Attempts < 2 {
			t.Errorf("row after the outage = %+v, want failed with last_error and attempts >= 2", r)
		}
		// Both timestamps come from one now(): the gap is the backoff.
		if got, want := r.NextAttemptAt.Time.Sub(r.UpdatedAt), outbox.Backoff(cfg, r.Attempts); got != want {
			t.Errorf("next_attempt_at - updated_at = %v after %d attempts, want %v", got, r.Attempts, want)
		}
	}
	if warns := logs.count(slog.LevelWarn); warns != 1 {
		t.Errorf("outage logged %d warnings, want 1: %v", warns, logs.messages())
	}
	if failures, successes := deliveries(t, reg, "failure"), deliveries(t, reg, "success"); failures < 2*n || successes != 0 {
		t.Errorf("during the outage: %v failed and %v successful deliveries counted, want at least %d and 0", failures, successes, 2*n)
	}
	if byType := testutil.ToFloat64(metrics.PublishFailures(outbox.EventUserRegistered)); byType != deliveries(t, reg, "failure") {
		t.Errorf("failures by event type = %v, want every failure (%v) under UserRegistered", byType, deliveries(t, reg, "failure"))
	}

	up := outbox.NewRelay(db, newProducer(t, testenv.KafkaBrokers, 10*time.Second), k.ser,
		outbox.Config{StaleAfter: time.Minute, SweepInterval: 50 * time.Millisecond}, quietLog(), outbox.WithMetrics(metrics))
	start(t, up)
	awaitStatus(t, db, 15*time.Second, "successful", ids...)
	if successes := deliveries(t, reg, "success"); successes != n {
		t.Errorf("%v successful deliveries counted, want %d", successes, n)
	}
	perEvent := map[string]int{}
	for _, m := range consume(t, k.topic, n, time.Second) {
		perEvent[header(m, outbox.HeaderEventID)]++
	}
	for _, id := range ids {
		if perEvent[id] != 1 {
			t.Errorf("event %s on the topic %d times, want 1", id, perEvent[id])
		}
		if r := rowByID(t, db, id); r.LastError.Valid || r.NextAttemptAt.Valid {
			t.Errorf("delivered row keeps last_error %v, next_attempt_at %v", r.LastError, r.NextAttemptAt)
		}
	}
}

// flakySerializer fails while broken is set, like an unreachable registry.
type flakySerializer struct {
	outbox.Serializer
	broken atomic.Bool
}

var errRegistryDown = errors.New("registry unreachable")

func (s *flakySerializer) Serialize(topic string, msg any) ([]byte, error) {
	if s.broken.Load() {
		return nil, errRegistryDown
	}
	return s.Serializer.Serialize(topic, msg)
}

// TestSchemaRegistryDownKeepsTheRow: an event that cannot be serialized is
// not lost but failed, and delivered once the registry answers again.
func TestSchemaRegistryDownKeepsTheRow(t *testing.T) {
	t.Parallel()
	db, k := testDB(t), newKafkaEnv(t)
	ser := &flakySerializer{Serializer: k.ser}
	ser.broken.Store(true)
	cfg := outbox.Config{SweepInterval: 50 * time.Millisecond, InitialBackoff: time.Hour}
	relay := outbox.NewRelay(db, newProducer(t, testenv.KafkaBrokers, 10*time.Second), ser, cfg, quietLog())
	users := postgres.NewUsers(db, nil, outbox.UserRegistered(k.topic), postgres.OnCommitted(relay.Enqueue), withKeys)
	start(t, relay)

	u, _ := register(t, users)
	var id string
	if err := db.Get(&id, "SELECT id FROM outbox WHERE aggregate_id = $1", u.ID); err != nil {
		t.Fatal(err)
	}
	awaitStatus(t, db, 10*time.Second, "failed", id)
	r := rowByID(t, db, id)
	if r.Attempts != 1 || r.LastError.String != "schema registry: "+errRegistryDown.Error() {
		t.Fatalf("row = %+v, want attempts 1 and the registry's error", r)
	}
	if got := r.NextAttemptAt.Time.Sub(r.UpdatedAt); got != time.Hour {
		t.Fatalf("backoff = %v, want the initial 1h", got)
	}

	// The registry is back and the backoff over.
	ser.broken.Store(false)
	if _, err := db.Exec("UPDATE outbox SET next_attempt_at = now() WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	awaitStatus(t, db, 10*time.Second, "successful", id)
	if r := rowByID(t, db, id); r.Attempts != 2 {
		t.Fatalf("attempts = %d, want 2", r.Attempts)
	}
	if msgs := consume(t, k.topic, 1, time.Second); len(msgs) != 1 || string(msgs[0].Key) != u.ID {
		t.Fatalf("consumed %d messages, want the user's one", len(msgs))
	}
}

// TestStopSettlesQueuedEvents stops the relay right after registrations:
// Run publishes what was queued, waits for the reports, and records them
// before it returns.
func TestStopSettlesQueuedEvents(t *testing.T) {
	t.Parallel()
	db, k := testDB(t), newKafkaEnv(t)
	relay := outbox.NewRelay(db, newProducer(t, testenv.KafkaBrokers, 10*time.Second), k.ser,
		outbox.Config{SweepInterval: noSweeps}, quietLog())
	users := postgres.NewUsers(db, nil, outbox.UserRegistered(k.topic), postgres.OnCommitted(relay.Enqueue), withKeys)
	const n = 20
	for range n { // queued before Run even starts
		register(t, users)
	}
	stop := start(t, relay)
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	var settled int
	if err := db.Get(&settled, "SELECT count(*) FROM outbox WHERE status = 'successful'"); err != nil || settled != n {
		t.Fatalf("successful rows when Run returned: %d, %v; want %d", settled, err, n)
	}
}

// TestReportsNeverRegressARow checks the status updates of delivery
// reports against rows other publishers have moved on.
func TestReportsNeverRegressARow(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	r := outbox.NewRelay(db, nil, nil, outbox.Config{InitialBackoff: time.Second}, quietLog())

	tests := []struct {
		name   string
		seed   seed
		report func(id string) error
		want   outboxRow // Status, Attempts, LastError.String
	}{
		{
			"failure after another publisher delivered",
			seed{status: "successful", attempts: 1},
			func(id string) error { return r.MarkFailed(ctx, id, 0, "late timeout") },
			outboxRow{Status: "successful", Attempts: 1},
		},
		{
			"failure of the after-commit publish after a sweeper claimed the row",
			seed{status: "inProgress", attempts: 1},
			func(id string) error { return r.MarkFailed(ctx, id, 0, "late timeout") },
			outboxRow{Status: "inProgress", Attempts: 1},
		},
		{
			"failure of the current claim",
			seed{status: "inProgress", attempts: 3},
			func(id string) error { return r.MarkFailed(ctx, id, 3, "timed out") },
			outboxRow{Status: "failed", Attempts: 3, LastError: nullString("timed out")},
		},
		{
			"failure of the after-commit publish",
			seed{status: "inProgress"},
			func(id string) error { return r.MarkFailed(ctx, id, 0, "timed out") },
			outboxRow{Status: "failed", Attempts: 1, LastError: nullString("timed out")},
		},
		{
			"success of an earlier publish after the row failed",
			seed{status: "failed", attempts: 2, lastError: "timed out", nextIn: in(time.Minute)},
			func(id string) error { return r.MarkSuccessful(ctx, id) },
			outboxRow{Status: "successful", Attempts: 2},
		},
		{
			"success of the after-commit publish",
			seed{status: "inProgress"},
			func(id string) error { return r.MarkSuccessful(ctx, id) },
			outboxRow{Status: "successful", Attempts: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, _, _ := insert(t, db, "unused", tt.seed)
			if err := tt.report(id); err != nil {
				t.Fatal(err)
			}
			got := rowByID(t, db, id)
			if got.Status != tt.want.Status || got.Attempts != tt.want.Attempts || got.LastError != tt.want.LastError {
				t.Errorf("row = status %s attempts %d last_error %v; want %s %d %v",
					got.Status, got.Attempts, got.LastError, tt.want.Status, tt.want.Attempts, tt.want.LastError)
			}
		})
	}
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }

// recordingHandler keeps the records logged through it.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordingHandler) count(level slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.records {
		if r.Level == level {
			n++
		}
	}
	return n
}

func (h *recordingHandler) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.records {
		out = append(out, r.Level.String()+" "+r.Message)
	}
	return out
}

// deliveries returns the value of sso_outbox_deliveries_total{outcome}.
func deliveries(t *testing.T, g prometheus.Gatherer, outcome string) float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "sso_outbox_deliveries_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if l := m.GetLabel(); len(l) == 1 && l[0].GetName() == "outcome" && l[0].GetValue() == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no sso_outbox_deliveries_total{outcome=%q}", outcome)
	return 0
}
