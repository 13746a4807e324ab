package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jmoiron/sqlx"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/otelkafka"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// Header names the relay sets on every message, besides the trace context.
const (
	HeaderEventID   = otelkafka.EventIDHeader // "event_id"
	HeaderEventType = "event_type"
)

// Config tunes a Relay; zero fields take the defaults named.
type Config struct {
	// StaleAfter is how long an inProgress row may go untouched before a
	// sweeper claims it again (default 30s). It must exceed MessageTimeout,
	// or rows still being delivered are published a second time.
	StaleAfter time.Duration
	// SweepInterval is the pause between sweeps (default 2s).
	SweepInterval time.Duration
	// BatchSize is the most rows one sweep claims at once (default 100).
	BatchSize int
	// InitialBackoff is the wait before retrying a row after its first
	// failed attempt (default 1s); it doubles with each further failure up
	// to MaxBackoff (default 1m).
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// MessageTimeout is the producer's message.timeout.ms (default 20s; see
	// NewProducer): the longest a publish takes to turn into a delivery
	// report. A committed record that has waited so long in the queue that
	// its publish could outlast StaleAfter is left to the sweeper instead.
	MessageTimeout time.Duration
	// FlushTimeout bounds how long Run, once stopped, waits for the
	// producer to deliver and for the reports to be recorded (default 10s).
	FlushTimeout time.Duration
	// QueueSize is how many committed records may wait in memory for the
	// relay (default 1024); Enqueue drops the rest, which the sweeper
	// publishes after StaleAfter.
	QueueSize int
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.StaleAfter, 30*time.Second)
	def(&c.SweepInterval, 2*time.Second)
	def(&c.InitialBackoff, time.Second)
	def(&c.MaxBackoff, time.Minute)
	def(&c.MessageTimeout, 20*time.Second)
	def(&c.FlushTimeout, 10*time.Second)
	if c.MaxBackoff < c.InitialBackoff {
		c.MaxBackoff = c.InitialBackoff
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 100
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 1024
	}
	return c
}

// backoff is the wait after the attempt-th failed attempt (1 for the
// first): InitialBackoff doubled per further attempt, capped at MaxBackoff.
func (c Config) backoff(attempt int) time.Duration {
	d := c.InitialBackoff
	for i := 1; i < attempt && d < c.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, c.MaxBackoff)
}

// Serializer frames an event for the Schema Registry: the confluent
// serde/protobuf Serializer, which finds the schema under the subject
// <topic>-value (sso's looks it up and registers nothing).
type Serializer interface {
	Serialize(topic string, msg any) ([]byte, error)
}

// eventTypes maps an outbox event_type to the protobuf message its payload
// holds.
var eventTypes = map[string]func() proto.Message{
	EventUserRegistered: func() proto.Message { return new(eventsv1.UserRegistered) },
	// Every kind of account event travels in the one envelope.
	string(user.EventEmailVerificationRequested): newAccountEvent,
	string(user.EventEmailVerified):              newAccountEvent,
	string(user.EventPasswordResetRequested):     newAccountEvent,
	string(user.EventPasswordChanged):            newAccountEvent,
	string(user.EventUserDeleted):                newAccountEvent,
	EventAudit:                                   func() proto.Message { return new(eventsv1.AuditEvent) },
}

func newAccountEvent() proto.Message { return new(eventsv1.AccountEvent) }

// errUnknownEventType marks a row whose event_type the relay cannot decode.
var errUnknownEventType = errors.New("unknown event type")

// statusTimeout bounds one status update, so a hung database cannot stall
// the delivery reports forever.
const statusTimeout = 5 * time.Second

// maxErrorLen bounds the last_error stored with a row.
const maxErrorLen = 1000

// Relay publishes outbox rows to Kafka; see the package documentation.
// Several Relays, in one process or many, may work on one table.
type Relay struct {
	db       *sqlx.DB
	producer *kafka.Producer
	ser      Serializer
	cfg      Config
	log      *slog.Logger
	queue    chan queued
	metrics  *Metrics // nil: not counted

	// inflight counts the messages handed to the producer whose delivery
	// report has not been recorded yet.
	inflight atomic.Int64
	// failing is true from a failed delivery until the next success, so
	// an outage is logged once when it starts and once when it ends.
	failing  atomic.Bool
	failures atomic.Int64 // failed deliveries since failing became true
}

// queued is a committed record waiting to be published.
type queued struct {
	rec Record
	at  time.Time
}

// event is a row being published. claimed is the attempts value the row
// had when this process took it: 0 for a record published right after its
// commit, the incremented count for a row a sweep claimed.
type event struct {
	id, eventType, topic, key string
	payload                   []byte
	trace                     map[string]string
	claimed                   int
}

// delivery travels with a message through the producer (msg.Opaque) to its
// delivery report.
type delivery struct {
	event event
	ctx   context.Context // carries the producer span
	span  trace.Span
}

// NewRelay returns a Relay over the outbox table of db (the primary),
// publishing with producer (see NewProducer) and framing values with ser.
// The caller keeps ownership of producer and closes it after Run returns;
// Run reads its Events channel, which nothing else may read.
func NewRelay(db *sqlx.DB, producer *kafka.Producer, ser Serializer, cfg Config, log *slog.Logger, opts ...Option) *Relay {
	cfg = cfg.withDefaults()
	r := &Relay{
		db:       db,
		producer: producer,
		ser:      ser,
		cfg:      cfg,
		log:      log.With(slog.String("component", "outbox")),
		queue:    make(chan queued, cfg.QueueSize),
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Enqueue hands a just-committed record to the relay; pass it to the user
// store's on-commit hook (postgres.OnCommitted). It never blocks: when the
// queue is full the record is dropped from memory, and the sweeper
// publishes its row once it is stale.
func (r *Relay) Enqueue(rec Record) {
	select {
	case r.queue <- queued{rec: rec, at: time.Now()}:
	default:
		r.log.Debug("queue full, leaving the event to the sweeper", slog.String("event_id", rec.ID))
	}
}

// Run publishes committed records and sweeps the table until ctx is
// cancelled. Then it stops claiming rows, publishes what is still queued,
// flushes the producer and records the delivery reports, all within
// Config.FlushTimeout, and returns nil; rows left unsettled stay in the
// table for the next sweep. It returns an error only when the producer
// fails fatally (it cannot deliver anything any more).
func (r *Relay) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	stopReports := make(chan struct{})
	reportsDone := make(chan struct{})
	var fatal error // set by the reader before reportsDone closes
	go func() {
		defer close(reportsDone)
		if fatal = r.readReports(stopReports); fatal != nil {
			cancel()
		}
	}()

	var wg sync.WaitGroup
	wg.Go(func() { r.publishCommitted(ctx) })
	wg.Go(func() { r.sweep(ctx) })
	r.log.InfoContext(ctx, "relay started",
		slog.String("stale_after", r.cfg.StaleAfter.String()), slog.String("sweep_interval", r.cfg.SweepInterval.String()))
	wg.Wait()

	// Stopping: nothing is claimed or queued for publishing any more. Let
	// the producer deliver what it holds and the reader record it.
	deadline := time.Now().Add(r.cfg.FlushTimeout)
	r.producer.Flush(int(r.cfg.FlushTimeout.Milliseconds()))
	for r.inflight.Load() > 0 && time.Now().Before(deadline) {
		select {
		case <-reportsDone:
			deadline = time.Now() // the reader stopped: nothing more settles
		case <-time.After(10 * time.Millisecond):
		}
	}
	close(stopReports)
	<-reportsDone

	unsettled := slog.Int64("unsettled", r.inflight.Load())
	if fatal != nil {
		r.log.Error("relay stopped", unsettled, slog.Any("error", fatal))
		return fatal
	}
	r.log.Info("relay stopped", unsettled)
	return nil
}

// publishCommitted publishes queued records until ctx ends, then those
// still queued.
func (r *Relay) publishCommitted(ctx context.Context) {
	for {
		select {
		case q := <-r.queue:
			r.publishQueued(q)
		case <-ctx.Done():
			for {
				select {
				case q := <-r.queue:
					r.publishQueued(q)
				default:
					return
				}
			}
		}
	}
}

func (r *Relay) publishQueued(q queued) {
	// A publish may take MessageTimeout to report; if that could end after
	// the row turns stale, a sweeper may publish it meanwhile. Leave it to
	// the sweeper rather than publish it twice.
	if time.Since(q.at)+r.cfg.MessageTimeout >= r.cfg.StaleAfter {
		r.log.Debug("record waited too long, leaving it to the sweeper", slog.String("event_id", q.rec.ID))
		return
	}
	eventType := q.rec.EventType
	if eventType == "" {
		eventType = EventUserRegistered
	}
	r.publish(event{
		id:        q.rec.ID,
		eventType: eventType,
		topic:     q.rec.Topic,
		key:       q.rec.Key,
		payload:   q.rec.Payload,
		trace:     q.rec.TraceContext,
	})
}

// sweep claims and publishes due rows every SweepInterval until ctx ends.
// A full batch is followed at once by another, while the producer is not
// overloaded, so a backlog drains faster than one batch per interval.
func (r *Relay) sweep(ctx context.Context) {
	tick := time.NewTicker(r.cfg.SweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for ctx.Err() == nil {
			n, err := r.sweepOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					r.log.WarnContext(ctx, "sweep failed", slog.Any("error", err))
				}
				break
			}
			if n > 0 {
				r.log.InfoContext(ctx, "sweep re-publishing rows", slog.Int("rows", n))
			}
			if n < r.cfg.BatchSize || r.inflight.Load() >= int64(4*r.cfg.BatchSize) {
				break
			}
		}
	}
}

// sweepOnce claims one batch of due rows and publishes them, returning how
// many it claimed.
func (r *Relay) sweepOnce(ctx context.Context) (int, error) {
	events, err := r.claim(ctx, r.cfg.BatchSize)
	if err != nil {
		return 0, err
	}
	// Claimed rows are published even if ctx has ended meanwhile: they are
	// ours until stale, and publishing never blocks for long.
	for _, e := range events {
		r.publish(e)
	}
	return len(events), nil
}

// publish serializes e and hands it to the producer; the delivery report
// settles the row. A failure before the producer has the message settles
// it at once.
func (r *Relay) publish(e event) {
	ctx := otel.GetTextMapPropagator().Extract(context.Background(), propagation.MapCarrier(e.trace))
	value, err := r.encode(e)
	if err != nil {
		r.failed(ctx, e, err)
		return
	}
	topic := e.topic
	msg := &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            []byte(e.key),
		Value:          value,
		Headers: []kafka.Header{
			{Key: HeaderEventID, Value: []byte(e.id)},
			{Key: HeaderEventType, Value: []byte(e.eventType)},
		},
	}
	ctx, span := otelkafka.StartProduce(ctx, msg)
	msg.Opaque = &delivery{event: e, ctx: ctx, span: span}
	r.inflight.Add(1)
	if err := r.producer.Produce(msg, nil); err != nil {
		r.inflight.Add(-1)
		otelkafka.EndProduce(span, nil, err)
		r.failed(ctx, e, fmt.Errorf("produce: %w", err))
	}
}

// encode turns the row's payload into a Schema Registry framed value.
func (r *Relay) encode(e event) ([]byte, error) {
	newMsg, ok := eventTypes[e.eventType]
	if !ok {
		return nil, fmt.Errorf("%w %q", errUnknownEventType, e.eventType)
	}
	m := newMsg()
	if err := proto.Unmarshal(e.payload, m); err != nil {
		return nil, fmt.Errorf("decode %s payload: %w", e.eventType, err)
	}
	value, err := r.ser.Serialize(e.topic, m)
	if err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	return value, nil
}

// maxReportBatch bounds how many successful deliveries one status update
// records.
const maxReportBatch = 256

// readReports records delivery reports until stop is closed or the
// producer's events channel closes. It returns an error when the producer
// fails fatally.
func (r *Relay) readReports(stop <-chan struct{}) error {
	events := r.producer.Events()
	var delivered []*delivery
	for {
		var ev kafka.Event
		var ok bool
		select {
		case ev, ok = <-events:
		case <-stop:
			return nil
		}
		if !ok {
			return nil
		}
		// Take whatever else is ready, so that a burst of successes is
		// recorded by one statement.
		var fatal error
	batch:
		for {
			switch e := ev.(type) {
			case *kafka.Message:
				if d := r.report(e); d != nil {
					delivered = append(delivered, d)
				}
			case kafka.Error:
				if e.IsFatal() {
					fatal = fmt.Errorf("outbox: kafka producer: %w", e)
					break batch
				}
				r.kafkaError(e)
			}
			if len(delivered) >= maxReportBatch {
				break batch
			}
			select {
			case ev, ok = <-events:
				if !ok {
					break batch
				}
			default:
				break batch
			}
		}
		if len(delivered) > 0 {
			r.delivered(delivered)
			delivered = delivered[:0]
		}
		if fatal != nil || !ok {
			return fatal
		}
	}
}

// report handles one delivery report: a failure is recorded at once, a
// success is returned for the caller to record in a batch.
func (r *Relay) report(m *kafka.Message) *delivery {
	d, ok := m.Opaque.(*delivery)
	if !ok {
		return nil // not ours
	}
	err := m.TopicPartition.Error
	otelkafka.EndProduce(d.span, m, nil)
	if err != nil {
		r.failed(d.ctx, d.event, fmt.Errorf("delivery: %w", err))
		r.inflight.Add(-1)
		return nil
	}
	return d
}

// delivered marks the rows of successful deliveries successful.
func (r *Relay) delivered(ds []*delivery) {
	r.metrics.delivered(len(ds))
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.event.id
	}
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	if err := r.markSuccessful(ctx, ids); err != nil {
		// The rows stay inProgress and are published again when stale.
		r.log.ErrorContext(ds[0].ctx, "recording deliveries failed", slog.Int("rows", len(ids)), slog.Any("error", err))
	}
	r.inflight.Add(-int64(len(ds)))
	if r.failing.CompareAndSwap(true, false) {
		r.log.Info("kafka deliveries recovered", slog.Int64("failed_meanwhile", r.failures.Swap(0)))
	}
	for _, d := range ds {
		r.log.DebugContext(d.ctx, "event delivered", slog.String("event_id", d.event.id))
	}
}

// failed records a failed attempt to publish e.
func (r *Relay) failed(ctx context.Context, e event, cause error) {
	attempt := max(e.claimed, 1)
	r.metrics.failed(e.eventType)
	if r.failing.CompareAndSwap(false, true) {
		r.log.WarnContext(ctx, "kafka deliveries failing; events stay in the outbox and are retried",
			slog.String("event_id", e.id), slog.Any("error", cause))
	}
	r.failures.Add(1)
	r.log.DebugContext(ctx, "publish failed", slog.String("event_id", e.id), slog.Int("attempt", attempt), slog.Any("error", cause))

	msg := cause.Error()
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen]
	}
	dbctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusTimeout)
	defer cancel()
	if err := r.markFailed(dbctx, e, attempt, msg, r.cfg.backoff(attempt)); err != nil {
		// The row stays inProgress and is published again when stale.
		r.log.ErrorContext(ctx, "recording a failed publish failed", slog.String("event_id", e.id), slog.Any("error", err))
	}
}

// kafkaError logs a client-level error (not tied to a message). "All
// brokers down" starts an outage like a failed delivery does; the
// per-connection errors that follow it are only worth a debug line.
func (r *Relay) kafkaError(e kafka.Error) {
	if e.Code() == kafka.ErrAllBrokersDown && r.failing.CompareAndSwap(false, true) {
		r.log.Warn("kafka unreachable; events stay in the outbox and are retried", slog.Any("error", e))
		return
	}
	r.log.Debug("kafka client error", slog.Any("error", e))
}
