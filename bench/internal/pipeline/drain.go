package pipeline

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/lib/pq"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/schemas"
)

// Drain modes.
const (
	// ModeOutage stops Kafka, writes the backlog, starts Kafka again and
	// times the drain from the moment the broker accepts connections.
	ModeOutage = "outage"
	// ModeInject writes the backlog while Kafka is up, already due: the
	// relay's drain rate with no outage around it.
	ModeInject = "inject"
)

// DrainConfig says what Drain measures and where.
type DrainConfig struct {
	SSODB  *sql.DB // sso's database: the outbox table
	Events int     // backlog size
	// Topic is where the backlog's events go. The relay publishes each row
	// to the topic the row names; a topic no consumer reads keeps ten
	// thousand fake users from flooding the consumers (and Mailpit).
	Topic string
	Mode  string
	// StopKafka and StartKafka stop and start the broker (ModeOutage);
	// StartKafka returns once the broker is healthy.
	StopKafka, StartKafka func(context.Context) error
	KafkaAddr             string // host:port polled to see the broker come back
	// SchemaRegistryURL is where Drain registers Topic's schema, as the
	// deploy step does for sso's own topics: the relay registers none.
	SchemaRegistryURL string
	Timeout           time.Duration // the longest the drain may take
	Log               *slog.Logger
}

// DrainResult is what Drain measured.
type DrainResult struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	Mode   string `json:"mode"`
	Topic  string `json:"topic"`
	Events int    `json:"events"`
	// KafkaDownSeconds is how long the broker was down (ModeOutage).
	KafkaDownSeconds float64 `json:"kafka_down_seconds,omitempty"`
	// DrainSeconds runs from the broker accepting connections again (or
	// the backlog's commit, ModeInject) to the last row marked delivered.
	DrainSeconds    float64 `json:"drain_seconds"`
	EventsPerSecond float64 `json:"events_per_s"`
	// FirstSeconds is the time to the first row delivered.
	FirstSeconds float64 `json:"first_delivery_seconds"`
	Pending      int     `json:"pending"` // rows left undelivered at the timeout
}

// Drain writes a backlog of cfg.Events UserRegistered rows to sso's outbox
// and measures how fast the running relay delivers them. The rows are
// written directly, as failed publishes whose retry is due, with
// realistically marshalled events of made-up users: registering ten
// thousand real users through the API would take minutes at the argon2id
// ceiling, and the relay treats both alike. The rows are deleted
// afterwards.
func Drain(ctx context.Context, cfg DrainConfig) (res DrainResult) {
	res = DrainResult{Mode: cfg.Mode, Topic: cfg.Topic, Events: cfg.Events}
	fail := func(status, format string, args ...any) DrainResult {
		res.Status, res.Reason = status, fmt.Sprintf(format, args...)
		return res
	}
	var hasTable bool
	if err := cfg.SSODB.QueryRowContext(ctx, "SELECT to_regclass('public.outbox') IS NOT NULL").Scan(&hasTable); err != nil {
		return fail(StatusUnavailable, "sso database: %v", err)
	}
	if !hasTable {
		return fail(StatusUnavailable, "the sso database has no outbox table")
	}
	// Leftovers of an interrupted earlier run would be counted as ours.
	if err := deleteBacklog(ctx, cfg.SSODB, cfg.Topic); err != nil {
		return fail(StatusUnavailable, "clear earlier backlog: %v", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := deleteBacklog(dctx, cfg.SSODB, cfg.Topic); err != nil {
			cfg.Log.Warn("drain: could not delete the backlog rows", slog.String("topic", cfg.Topic), slog.Any("error", err))
		}
	}()

	if err := registerSchema(cfg.SchemaRegistryURL, cfg.Topic); err != nil {
		return fail(StatusUnavailable, "register the schema of %s: %v", cfg.Topic, err)
	}

	ids, payloads, err := backlog(cfg.Events)
	if err != nil {
		return fail(StatusUnavailable, "build backlog: %v", err)
	}

	var t0 time.Time
	switch cfg.Mode {
	case ModeOutage:
		if cfg.StopKafka == nil || cfg.StartKafka == nil {
			return fail(StatusUnavailable, "outage mode needs a way to stop and start Kafka")
		}
		cfg.Log.Info("drain: stopping Kafka")
		down := time.Now()
		if err := cfg.StopKafka(ctx); err != nil {
			// It may be half down: make sure it comes back.
			_ = cfg.StartKafka(context.WithoutCancel(ctx))
			return fail(StatusUnavailable, "stop kafka: %v", err)
		}
		started := false
		defer func() {
			if !started {
				cfg.Log.Info("drain: starting Kafka again")
				if err := cfg.StartKafka(context.WithoutCancel(ctx)); err != nil {
					cfg.Log.Error("drain: KAFKA COULD NOT BE STARTED AGAIN: run deploy/local/stack up kafka", slog.Any("error", err))
				}
			}
		}()
		if err := insertBacklog(ctx, cfg.SSODB, cfg.Topic, ids, payloads); err != nil {
			return fail(StatusUnavailable, "write backlog: %v", err)
		}
		cfg.Log.Info("drain: backlog written, starting Kafka", slog.Int("events", cfg.Events))
		up := make(chan time.Time, 1)
		pctx, stopPoll := context.WithCancel(ctx)
		go func() { up <- waitListening(pctx, cfg.KafkaAddr) }()
		started = true
		// Not cancellable: an interrupted start must not leave Kafka down.
		err := cfg.StartKafka(context.WithoutCancel(ctx))
		if err != nil {
			stopPoll()
			return fail(StatusUnavailable, "start kafka: %v", err)
		}
		t0 = <-up
		stopPoll()
		if t0.IsZero() {
			return fail(StatusUnavailable, "kafka at %s did not accept connections after its start", cfg.KafkaAddr)
		}
		res.KafkaDownSeconds = t0.Sub(down).Seconds()
	case ModeInject:
		if err := insertBacklog(ctx, cfg.SSODB, cfg.Topic, ids, payloads); err != nil {
			return fail(StatusUnavailable, "write backlog: %v", err)
		}
		t0 = time.Now()
	default:
		return fail(StatusUnavailable, "unknown drain mode %q (want %s or %s)", cfg.Mode, ModeOutage, ModeInject)
	}

	// Poll the pending count through the outbox's partial index (cheap)
	// until the backlog is gone.
	deadline := t0.Add(cfg.Timeout)
	lastProgress, lastPending := time.Now(), cfg.Events
	for {
		pending, err := pendingRows(ctx, cfg.SSODB, cfg.Topic)
		if err != nil {
			return fail(StatusUnavailable, "poll outbox: %v", err)
		}
		res.Pending = pending
		if pending == 0 {
			break
		}
		if pending < lastPending {
			lastPending, lastProgress = pending, time.Now()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		if time.Since(lastProgress) > time.Minute && pending == cfg.Events {
			return fail(StatusUnavailable, "no backlog row delivered within a minute (is the outbox relay running in sso?)")
		}
		time.Sleep(200 * time.Millisecond)
	}
	first, last, err := deliveredSpan(ctx, cfg.SSODB, cfg.Topic)
	if err != nil {
		return fail(StatusUnavailable, "read delivery times: %v", err)
	}
	if !last.IsZero() {
		res.DrainSeconds = max(last.Sub(t0).Seconds(), 0)
		res.FirstSeconds = max(first.Sub(t0).Seconds(), 0)
		if res.DrainSeconds > 0 {
			res.EventsPerSecond = float64(cfg.Events-res.Pending) / res.DrainSeconds
		}
	}
	if res.Pending > 0 {
		return fail(StatusPartial, "%d of %d rows still undelivered after %v", res.Pending, cfg.Events, cfg.Timeout)
	}
	res.Status = StatusOK
	return res
}

// backlog builds n events of made-up users: their ids and marshalled
// payloads, as sso's registration writes them.
func backlog(n int) (ids []string, payloads [][]byte, err error) {
	now := timestamppb.Now()
	for i := range n {
		id, user := newUUID(), newUUID()
		p, err := proto.Marshal(&eventsv1.UserRegistered{
			EventId:      id,
			UserId:       user,
			Email:        fmt.Sprintf("drain-%d-%s@bench.example.com", i, user[:8]),
			FullName:     "Bench Backlog",
			RegisteredAt: now,
		})
		if err != nil {
			return nil, nil, err
		}
		ids = append(ids, id)
		payloads = append(payloads, p)
	}
	return ids, payloads, nil
}

// insertBacklog writes the rows in one statement: failed once while Kafka
// was down, retry due now.
func insertBacklog(ctx context.Context, db *sql.DB, topic string, ids []string, payloads [][]byte) error {
	_, err := db.ExecContext(ctx, `INSERT INTO outbox
		(id, aggregate_id, event_type, topic, msg_key, payload, status, attempts, last_error, next_attempt_at)
		SELECT t.id, t.id, 'UserRegistered', $2, t.id::text, t.payload, 'failed', 1,
			'bench: backlog written while Kafka was down', now()
		FROM unnest($1::uuid[], $3::bytea[]) AS t(id, payload)`,
		pq.Array(ids), topic, pq.ByteaArray(payloads))
	return err
}

func deleteBacklog(ctx context.Context, db *sql.DB, topic string) error {
	_, err := db.ExecContext(ctx, "DELETE FROM outbox WHERE topic = $1", topic)
	return err
}

// pendingRows counts the topic's undelivered rows; "status <> 'successful'"
// matches outbox_pending_idx, so the count reads only pending rows.
func pendingRows(ctx context.Context, db *sql.DB, topic string) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM outbox WHERE status <> 'successful' AND topic = $1", topic).Scan(&n)
	return n, err
}

// deliveredSpan returns when the first and the last of the topic's
// delivered rows were marked delivered.
func deliveredSpan(ctx context.Context, db *sql.DB, topic string) (first, last time.Time, err error) {
	var f, l sql.NullTime
	err = db.QueryRowContext(ctx,
		"SELECT min(updated_at), max(updated_at) FROM outbox WHERE status = 'successful' AND topic = $1", topic).Scan(&f, &l)
	return f.Time, l.Time, err
}

// waitListening returns the time addr first accepts a TCP connection, or
// the zero time if ctx ends first.
func waitListening(ctx context.Context, addr string) time.Time {
	for ctx.Err() == nil {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return time.Now()
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	return time.Time{}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(errors.New("pipeline: no randomness"))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// registerSchema registers UserRegistered under topic's subject.
func registerSchema(url, topic string) error {
	client, err := schemaregistry.NewClient(schemaregistry.NewConfig(url))
	if err != nil {
		return err
	}
	defer client.Close()
	_, err = schemas.Register(client, []schemas.Subject{schemas.ValueSubject(topic, eventsv1.File_events_v1_user_registered_proto)})
	return err
}
