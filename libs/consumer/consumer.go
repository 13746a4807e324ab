package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/rest"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/ssokit/platform/libs/otelkafka"
)

// ErrPermanent marks a handler error that no retry can fix (an event the
// handler can never accept): wrap it, as in fmt.Errorf("...: %w",
// consumer.ErrPermanent), and the message is dead-lettered at once.
var ErrPermanent = errors.New("permanent failure")

// ErrTransient marks a handler error that says a dependency is unreachable
// or busy (its database or mail server down, refusing connections, timing
// out, answering "try again later"), not that the event is wrong: wrap it,
// as in fmt.Errorf("%w: %w", consumer.ErrTransient, err), and the message is
// retried without limit, its partitions paused, until the dependency is
// back. See the package documentation for how errors are classified.
var ErrTransient = errors.New("transient failure")

// ErrClosed is returned by Check and Run once the consumer has been closed.
var ErrClosed = errors.New("consumer closed")

// errPanic wraps a value recovered from a panicking handler.
var errPanic = errors.New("handler panicked")

// Metadata describes the Kafka message a handler call is for.
type Metadata struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Timestamp time.Time
	// Attempt is 1 on the first call for this message and counts every
	// call for it within this process: up to Config.MaxAttempts for
	// unclassified failures, without limit for transient ones. A message
	// redelivered after a restart starts again at 1.
	Attempt int
	// Headers are the message's headers (a copy the handler may keep).
	Headers []kafka.Header
}

// Handler processes one event. Its ctx carries the message's consumer span
// and is not cancelled by shutdown, only by Config.HandlerTimeout. A nil
// error commits the message. An error wrapping ErrPermanent dead-letters it
// at once; one wrapping ErrTransient (or a timeout or network error) is
// retried until it succeeds; any other error is retried up to MaxAttempts
// times and then dead-lettered. Handlers must be idempotent: delivery is at
// least once.
type Handler[T proto.Message] func(ctx context.Context, event T, meta Metadata) error

// Consumer consumes one topic as a member of one group; see the package
// documentation for its guarantees. Create it with New, start it with Run.
type Consumer[T proto.Message] struct {
	cfg      Config
	newEvent func() T
	handle   Handler[T]
	log      *slog.Logger
	obs      Observer
	rnd      func() float64

	kc       *kafka.Consumer
	producer *kafka.Producer
	registry schemaregistry.Client
	deser    *protobuf.Deserializer

	// State of the consuming goroutine (Run, and the rebalance callback it
	// runs within Poll), never touched by another goroutine.
	holding *kafka.TopicPartition  // the partition of the message being processed
	paused  []kafka.TopicPartition // partitions paused while it waits for a retry
	revoked bool                   // holding's partition was revoked meanwhile
	fatal   error                  // a fatal client error seen while waiting

	running   atomic.Bool
	mu        sync.RWMutex // guards closed against Check
	closed    bool
	closeOnce sync.Once
	closeErr  error
}

// New validates cfg, fills its defaults and creates the Kafka consumer, the
// dead-letter producer and the Schema Registry client; it does not join the
// group yet (Run does). newEvent returns an empty event to decode into.
func New[T proto.Message](cfg Config, newEvent func() T, handle Handler[T], log *slog.Logger) (*Consumer[T], error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if newEvent == nil || handle == nil || log == nil {
		return nil, errors.New("consumer: newEvent, handle and log are required")
	}
	log = log.With(slog.String("topic", cfg.Topic), slog.String("consumer_group", cfg.GroupID))

	registry, err := schemaregistry.NewClient(schemaregistry.NewConfig(cfg.SchemaRegistryURL))
	if err != nil {
		return nil, fmt.Errorf("schema registry client: %w", err)
	}
	deser, err := protobuf.NewDeserializer(registry, serde.ValueSerde, protobuf.NewDeserializerConfig())
	if err != nil {
		registry.Close()
		return nil, fmt.Errorf("protobuf deserializer: %w", err)
	}
	kconf := kafka.ConfigMap{
		"bootstrap.servers":             cfg.Brokers,
		"group.id":                      cfg.GroupID,
		"client.id":                     cfg.GroupID,
		"enable.auto.commit":            true,
		"auto.commit.interval.ms":       int(cfg.CommitInterval.Milliseconds()),
		"enable.auto.offset.store":      false,
		"auto.offset.reset":             "earliest",
		"enable.partition.eof":          false,
		"partition.assignment.strategy": "cooperative-sticky",
		"max.poll.interval.ms":          int(cfg.maxPollInterval().Milliseconds()),
		"log.connection.close":          false,
		// A member whose subscribed topic does not exist yet (on a fresh
		// system its first producer creates it), and whose readiness was
		// probed meanwhile, joins its group only once a periodic metadata
		// refresh finds the topic: every 5s rather than the client's
		// default 5 minutes, which held back a new system's first events
		// that long.
		"topic.metadata.refresh.interval.ms": 5_000,
	}
	// The client refuses a poll limit below the session timeout.
	kconf["session.timeout.ms"] = int(min(cfg.SessionTimeout, cfg.maxPollInterval()).Milliseconds())
	kc, err := kafka.NewConsumer(&kconf)
	if err != nil {
		registry.Close()
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	producer, err := newProducer(cfg)
	if err != nil {
		kc.Close()
		registry.Close()
		return nil, err
	}
	c := &Consumer[T]{
		cfg:      cfg,
		newEvent: newEvent,
		handle:   handle,
		log:      log,
		obs:      cfg.Observer,
		rnd:      randFloat,
		kc:       kc,
		producer: producer,
		registry: registry,
		deser:    deser,
	}
	go c.drainProducerEvents(producer)
	return c, nil
}

// DeadLetterTopic returns the topic failed messages are written to.
func (c *Consumer[T]) DeadLetterTopic() string { return c.cfg.DeadLetterTopic }

// Run consumes until ctx is cancelled and then returns nil, after the
// in-flight message is finished, the stored offsets are committed, and the
// consumer has left the group and been closed. It returns an error when it
// cannot subscribe, the Kafka client fails fatally, or closing fails. Run
// may be called once.
func (c *Consumer[T]) Run(ctx context.Context) (err error) {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("consumer: Run called twice")
	}
	if c.isClosed() {
		return ErrClosed
	}
	defer func() {
		if cerr := c.close(); cerr != nil && err == nil {
			err = fmt.Errorf("close kafka consumer: %w", cerr)
		}
	}()
	if err := c.kc.Subscribe(c.cfg.Topic, c.onRebalance); err != nil {
		return fmt.Errorf("subscribe to %s: %w", c.cfg.Topic, err)
	}
	// The lag reporter stops before the deferred close above.
	lagCtx, stopLag := context.WithCancel(ctx)
	lagDone := make(chan struct{})
	go func() {
		defer close(lagDone)
		c.reportLag(lagCtx)
	}()
	defer func() {
		stopLag()
		<-lagDone
		c.obs.Lag(c.cfg.Topic, map[int32]int64{})
	}()
	c.log.InfoContext(ctx, "consumer started", slog.String("dead_letter_topic", c.cfg.DeadLetterTopic))
	defer c.log.InfoContext(ctx, "consumer stopping: finishing, committing and leaving the group")
	for ctx.Err() == nil {
		switch ev := c.kc.Poll(100).(type) {
		case *kafka.Message:
			// A message polled after cancellation is left for the group's
			// next member rather than started.
			if ctx.Err() != nil || !c.process(ctx, ev) {
				return c.fatal
			}
		case kafka.Error:
			if ev.IsFatal() {
				return fmt.Errorf("kafka consumer: %w", ev)
			}
			c.log.WarnContext(ctx, "kafka consumer error", slog.Any("error", ev))
		}
	}
	return nil
}

// Check reports whether a broker answers a metadata request before ctx
// ends (at most five seconds), for readiness probes.
func (c *Consumer[T]) Check(ctx context.Context) error {
	timeout := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	if timeout <= 0 {
		return context.DeadlineExceeded
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return ErrClosed
	}
	md, err := c.kc.GetMetadata(nil, false, int(timeout.Milliseconds()))
	if err != nil {
		return fmt.Errorf("kafka metadata: %w", err)
	}
	if len(md.Brokers) == 0 {
		return errors.New("kafka metadata: no brokers")
	}
	return nil
}

// Close releases the clients of a Consumer whose Run was never called (Run
// closes them itself when it returns). It must not be called while Run
// runs: cancel Run's context instead.
func (c *Consumer[T]) Close() error {
	if c.running.Load() && !c.isClosed() {
		return errors.New("consumer: Close called while Run runs; cancel its context instead")
	}
	return c.close()
}

func (c *Consumer[T]) close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.producer.Flush(5000)
		c.producer.Close()
		c.closeErr = c.kc.Close()
		if err := c.registry.Close(); err != nil && c.closeErr == nil {
			c.closeErr = err
		}
	})
	return c.closeErr
}

func (c *Consumer[T]) isClosed() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.closed
}

// process takes one message to success, the dead-letter topic, a
// revocation of its partition or an interruption by shutdown, and stores
// its offset for commit in the first two cases. It returns false when
// shutdown (or a fatal client error) interrupted it, so that Run stops.
func (c *Consumer[T]) process(ctx context.Context, msg *kafka.Message) bool {
	start := time.Now()
	// Shutdown must not cancel the handler half way; the span and the
	// values of ctx are kept.
	mctx, span := otelkafka.StartConsume(context.WithoutCancel(ctx), msg, c.cfg.GroupID)
	defer span.End()
	log := c.log.With(
		slog.Int("partition", int(msg.TopicPartition.Partition)),
		slog.Int64("offset", int64(msg.TopicPartition.Offset)),
	)

	c.holding, c.revoked = &msg.TopicPartition, false
	outcome := c.deliver(ctx, mctx, log, msg)
	c.release(log)
	switch outcome {
	case OutcomeInterrupted:
		span.SetStatus(codes.Error, "interrupted by shutdown; left uncommitted for redelivery")
		log.InfoContext(mctx, "shutdown while retrying: message left uncommitted for redelivery")
		c.obs.Processed(c.cfg.Topic, outcome, time.Since(start))
		return false
	case OutcomeRevoked:
		span.SetStatus(codes.Error, "partition revoked while retrying; left uncommitted for its new owner")
		log.InfoContext(mctx, "partition revoked while retrying: message left uncommitted for its new owner")
		c.obs.Processed(c.cfg.Topic, outcome, time.Since(start))
		return true
	}
	if _, err := c.kc.StoreMessage(msg); err != nil {
		// The partition was probably revoked (rebalance, or the group
		// evicted us); its next owner redelivers the message.
		log.WarnContext(mctx, "storing the offset failed: the message may be redelivered", slog.Any("error", err))
	}
	c.obs.Processed(c.cfg.Topic, outcome, time.Since(start))
	return true
}

// deliver decodes msg and calls the handler until it succeeds, the message
// is dead-lettered, or a wait is cut short by shutdown or a revocation; it
// returns the outcome.
func (c *Consumer[T]) deliver(ctx, mctx context.Context, log *slog.Logger, msg *kafka.Message) string {
	event, err := c.decode(ctx, mctx, log, msg)
	if err != nil {
		if o, stopped := waitOutcome(err); stopped {
			return o
		}
		return c.deadLetter(ctx, mctx, log, msg, ReasonPoison, err, 0)
	}
	span := trace.SpanFromContext(mctx)
	meta := Metadata{
		Topic:     c.cfg.Topic,
		Partition: msg.TopicPartition.Partition,
		Offset:    int64(msg.TopicPartition.Offset),
		Key:       msg.Key,
		Timestamp: msg.Timestamp,
	}
	// unclassified counts the failures that were not transient: only they
	// use up MaxAttempts.
	unclassified := 0
	for attempt := 1; ; attempt++ {
		meta.Attempt = attempt
		meta.Headers = slices.Clone(msg.Headers)
		err := c.call(mctx, log, proto.Clone(event).(T), meta)
		if err == nil {
			return OutcomeSuccess
		}
		kind := classify(err)
		span.RecordError(err, trace.WithAttributes(
			attribute.Int("messaging.consumer.attempt", attempt),
			attribute.String("messaging.consumer.failure_kind", kind)))
		c.obs.Failed(c.cfg.Topic)
		switch kind {
		case KindPermanent:
			return c.deadLetter(ctx, mctx, log, msg, ReasonPermanent, err, attempt)
		case KindUnclassified:
			if unclassified++; unclassified >= c.cfg.MaxAttempts {
				return c.deadLetter(ctx, mctx, log, msg, ReasonExhausted, err, attempt)
			}
		}
		delay := backoff(attempt, c.cfg.InitialBackoff, c.cfg.MaxBackoff, c.rnd)
		if kind == KindTransient {
			log.WarnContext(mctx, "dependency unavailable; partitions paused, will retry until it is back",
				slog.Int("attempt", attempt), slog.String("retry_in", delay.String()), slog.Any("error", err))
		} else {
			log.WarnContext(mctx, "handler failed; will retry",
				slog.Int("attempt", attempt), slog.Int("failures", unclassified), slog.Int("max_attempts", c.cfg.MaxAttempts),
				slog.String("retry_in", delay.String()), slog.Any("error", err))
		}
		c.obs.Retried(c.cfg.Topic, kind)
		c.obs.Paused(c.cfg.Topic, kind == KindTransient)
		if err := c.wait(ctx, log, delay); err != nil {
			o, _ := waitOutcome(err)
			return o
		}
	}
}

// call runs the handler once, bounded by HandlerTimeout, turning a panic
// into an error.
func (c *Consumer[T]) call(ctx context.Context, log *slog.Logger, event T, meta Metadata) (err error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.HandlerTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			log.ErrorContext(ctx, "handler panicked", slog.Int("attempt", meta.Attempt),
				slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	return c.handle(ctx, event, meta)
}

// decode deserializes msg's value. A value that is not a registry-framed
// event of a known schema is poison and returned as an error at once; a
// registry that cannot be reached is waited for, with backoff, until it
// answers or a wait is cut short (an error of wait's).
func (c *Consumer[T]) decode(ctx, mctx context.Context, log *slog.Logger, msg *kafka.Message) (T, error) {
	for attempt := 1; ; attempt++ {
		event, err := c.deserialize(msg)
		if err == nil {
			return event, nil
		}
		if !registryUnavailable(err) {
			return event, fmt.Errorf("deserialize: %w", err)
		}
		delay := backoff(attempt, c.cfg.InitialBackoff, c.cfg.MaxBackoff, c.rnd)
		log.WarnContext(mctx, "schema registry unavailable; will retry", slog.String("retry_in", delay.String()), slog.Any("error", err))
		if err := c.wait(ctx, log, delay); err != nil {
			return event, err
		}
	}
}

func (c *Consumer[T]) deserialize(msg *kafka.Message) (event T, err error) {
	if len(msg.Value) == 0 {
		return event, errors.New("empty value")
	}
	// The serde library indexes into short or malformed payloads without
	// checking their length.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed payload: %v", r)
		}
	}()
	event = c.newEvent()
	if err := c.deser.DeserializeInto(c.cfg.Topic, msg.Value, event); err != nil {
		return event, err
	}
	return event, nil
}

// registryUnavailable tells a failure to reach the Schema Registry (worth
// waiting for) from a value that can never be decoded (poison).
func registryUnavailable(err error) bool {
	var restErr *rest.Error
	if errors.As(err, &restErr) {
		code := restErr.Code
		if code >= 10000 { // Confluent codes extend the HTTP status: 40403, 50001
			code /= 100
		}
		return code >= 500 || code == 401 || code == 403 || code == 408 || code == 429
	}
	var urlErr *url.Error
	var netErr net.Error
	var syntaxErr *json.SyntaxError // a proxy's error page instead of the registry's JSON
	return errors.As(err, &urlErr) || errors.As(err, &netErr) || errors.As(err, &syntaxErr)
}

func (c *Consumer[T]) onRebalance(_ *kafka.Consumer, ev kafka.Event) error {
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		c.log.Info("partitions assigned", slog.String("partitions", partitionList(e.Partitions)))
	case kafka.RevokedPartitions:
		// Rebalance callbacks run inside Poll, on the consuming goroutine,
		// so a message waiting for a retry learns here that it is no
		// longer ours to finish.
		if c.holding != nil && slices.ContainsFunc(e.Partitions, func(tp kafka.TopicPartition) bool { return samePartition(tp, *c.holding) }) {
			c.revoked = true
		}
		if c.kc.AssignmentLost() {
			c.log.Warn("partitions lost", slog.String("partitions", partitionList(e.Partitions)))
		} else {
			c.log.Info("partitions revoked", slog.String("partitions", partitionList(e.Partitions)))
		}
	}
	return nil // the client applies the (incremental) assignment itself
}

func partitionList(tps []kafka.TopicPartition) string {
	parts := make([]string, len(tps))
	for i, tp := range tps {
		parts[i] = strconv.Itoa(int(tp.Partition))
	}
	return strings.Join(parts, ",")
}
