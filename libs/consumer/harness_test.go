package consumer_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/telemetry"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/kafkatest"
)

// harness owns one single-partition topic, its registry subject, its
// consumer group and its dead-letter topic on the real stack, and removes
// them when the test ends.
type harness struct {
	t        *testing.T
	ctx      context.Context
	topic    string
	group    string
	admin    *kafka.AdminClient
	producer *kafka.Producer
	ser      *protobuf.Serializer
	obs      *recordingObserver
	groups   []string // consumer groups to delete in cleanup
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	testenv.Require(t, testenv.KafkaBrokers, testenv.HostPort(testenv.SchemaRegistryURL))
	h := &harness{
		t:     t,
		ctx:   testenv.Context(t, 2*time.Minute),
		topic: testenv.Name(t, "consumer"),
		group: testenv.Name(t, "group"),
		obs:   &recordingObserver{},
	}
	h.groups = []string{h.group}

	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": testenv.KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	h.admin = admin
	t.Cleanup(admin.Close)
	res, err := admin.CreateTopics(h.ctx, []kafka.TopicSpecification{{Topic: h.topic, NumPartitions: 1, ReplicationFactor: 1}})
	if err != nil || res[0].Error.Code() != kafka.ErrNoError {
		t.Fatalf("create topic: %v %v", err, res)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.DeleteConsumerGroups(ctx, h.groups)
		_, _ = admin.DeleteTopics(ctx, []string{h.topic, consumer.DefaultDeadLetterTopic(h.topic, h.group)})
	})

	registry, err := schemaregistry.NewClient(schemaregistry.NewConfig(testenv.SchemaRegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		subject := h.topic + "-value"
		_, _ = registry.DeleteSubject(subject, false)
		_, _ = registry.DeleteSubject(subject, true)
		_ = registry.Close()
	})
	h.ser, err = protobuf.NewSerializer(registry, serde.ValueSerde, protobuf.NewSerializerConfig())
	if err != nil {
		t.Fatal(err)
	}

	h.producer, err = kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers":  testenv.KafkaBrokers,
		"enable.idempotence": true,
		"acks":               "all",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.producer.Close)
	return h
}

// config is a consumer configuration for the harness topic and group with
// retries fast enough for tests.
func (h *harness) config() consumer.Config {
	return consumer.Config{
		Brokers:           testenv.KafkaBrokers,
		GroupID:           h.group,
		Topic:             h.topic,
		SchemaRegistryURL: testenv.SchemaRegistryURL,
		MaxAttempts:       3,
		InitialBackoff:    10 * time.Millisecond,
		MaxBackoff:        40 * time.Millisecond,
		HandlerTimeout:    10 * time.Second,
		Observer:          h.obs,
	}
}

func event(n int) *eventsv1.UserRegistered {
	return &eventsv1.UserRegistered{
		EventId:      fmt.Sprintf("00000000-0000-4000-8000-%012d", n),
		UserId:       fmt.Sprintf("10000000-0000-4000-8000-%012d", n),
		Email:        fmt.Sprintf("user%d@example.test", n),
		FullName:     fmt.Sprintf("User %d", n),
		RegisteredAt: timestamppb.New(time.Date(2026, 11, 26, 12, 0, n, 0, time.UTC)),
	}
}

// produceEvent serializes ev through the registry and produces it keyed by
// user id with an event_id header; it returns the offset.
func (h *harness) produceEvent(ev *eventsv1.UserRegistered) kafka.Offset {
	h.t.Helper()
	value, err := h.ser.Serialize(h.topic, ev)
	if err != nil {
		h.t.Fatalf("serialize: %v", err)
	}
	return h.produce(h.message([]byte(ev.UserId), value, kafka.Header{Key: "event_id", Value: []byte(ev.EventId)}))
}

func (h *harness) message(key, value []byte, headers ...kafka.Header) *kafka.Message {
	return &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &h.topic, Partition: kafka.PartitionAny},
		Key:            key,
		Value:          value,
		Headers:        headers,
	}
}

// produce produces msg and waits for its delivery; it returns the offset.
func (h *harness) produce(msg *kafka.Message) kafka.Offset {
	h.t.Helper()
	delivered := make(chan kafka.Event, 1)
	if err := h.producer.Produce(msg, delivered); err != nil {
		h.t.Fatalf("produce: %v", err)
	}
	select {
	case ev := <-delivered:
		m := ev.(*kafka.Message)
		if m.TopicPartition.Error != nil {
			h.t.Fatalf("delivery: %v", m.TopicPartition.Error)
		}
		return m.TopicPartition.Offset
	case <-h.ctx.Done():
		h.t.Fatal("no delivery report")
		return 0
	}
}

// running is a consumer whose Run runs in a goroutine.
type running struct {
	c      *consumer.Consumer[*eventsv1.UserRegistered]
	cancel context.CancelFunc
	done   chan error
}

// start creates a consumer with cfg and handle and runs it until stop or
// the end of the test.
func (h *harness) start(cfg consumer.Config, handle consumer.Handler[*eventsv1.UserRegistered]) *running {
	h.t.Helper()
	c, err := consumer.New(cfg, func() *eventsv1.UserRegistered { return &eventsv1.UserRegistered{} }, handle, testLogger(h.t))
	if err != nil {
		h.t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{c: c, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx) }()
	h.t.Cleanup(func() { r.stop(h.t) })
	return r
}

// stop cancels Run and returns what it returned.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t, 60*time.Second)
}

func (r *running) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err, ok := <-r.done:
		if !ok {
			return nil // already collected
		}
		close(r.done)
		return err
	case <-time.After(d):
		t.Fatalf("Run did not return within %v", d)
		return nil
	}
}

// committed returns the group's committed offset of partition 0, or
// kafka.OffsetInvalid when none was committed.
func (h *harness) committed() kafka.Offset {
	h.t.Helper()
	res, err := h.admin.ListConsumerGroupOffsets(h.ctx, []kafka.ConsumerGroupTopicPartitions{{
		Group:      h.group,
		Partitions: []kafka.TopicPartition{{Topic: &h.topic, Partition: 0}},
	}})
	if err != nil {
		h.t.Fatalf("list group offsets: %v", err)
	}
	return res.ConsumerGroupsTopicPartitions[0].Partitions[0].Offset
}

// waitCommitted fails the test unless the committed offset reaches want.
func (h *harness) waitCommitted(want kafka.Offset) {
	h.t.Helper()
	var got kafka.Offset
	if !testenv.Eventually(20*time.Second, 50*time.Millisecond, func() bool {
		got = h.committed()
		return got == want
	}) {
		h.t.Fatalf("committed offset = %v, want %v", got, want)
	}
}

// readTopic reads n messages from the start of topic with a throw-away group.
func (h *harness) readTopic(topic string, n int) []*kafka.Message {
	h.t.Helper()
	group := testenv.Name(h.t, "reader")
	h.groups = append(h.groups, group)
	c := kafkatest.Reader(h.t, group, topic)
	defer c.Close()
	var msgs []*kafka.Message
	for len(msgs) < n {
		if h.ctx.Err() != nil {
			h.t.Fatalf("read %d of %d messages from %s", len(msgs), n, topic)
		}
		m, err := c.ReadMessage(time.Second)
		if err != nil {
			continue // timeouts, and the topic not being known yet
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func testLogger(t *testing.T) *slog.Logger {
	return telemetry.NewLogger(t.Output(), "consumer-test", slog.LevelDebug)
}

// call is one handler invocation as the handler saw it.
type call struct {
	event *eventsv1.UserRegistered
	meta  consumer.Metadata
	ctx   context.Context
}

// calls records handler invocations and lets a test wait for them.
type calls struct {
	mu   sync.Mutex
	list []call
	ch   chan call
}

func newCalls() *calls { return &calls{ch: make(chan call, 100)} }

func (c *calls) add(ctx context.Context, ev *eventsv1.UserRegistered, meta consumer.Metadata) {
	c.mu.Lock()
	c.list = append(c.list, call{ev, meta, ctx})
	c.mu.Unlock()
	select {
	case c.ch <- call{ev, meta, ctx}:
	default: // a test retrying hundreds of times reads list, not ch
	}
}

// next waits for the next call.
func (c *calls) next(t *testing.T) call {
	t.Helper()
	select {
	case got := <-c.ch:
		return got
	case <-time.After(30 * time.Second):
		t.Fatal("handler not called within 30s")
		return call{}
	}
}

// forUser returns the attempts recorded for the user's events.
func (c *calls) attemptsFor(userID string) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var attempts []int
	for _, cl := range c.list {
		if cl.event.UserId == userID {
			attempts = append(attempts, cl.meta.Attempt)
		}
	}
	return attempts
}

// recordingObserver counts what the consumer reports.
type recordingObserver struct {
	mu           sync.Mutex
	processed    []string // outcomes
	failed       int
	retried      int
	retriedKinds []string
	pauses       []bool
	deadLettered []string // reasons
	lags         []map[int32]int64
}

func (o *recordingObserver) Failed(string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failed++
}

func (o *recordingObserver) Lag(_ string, lag map[int32]int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lags = append(o.lags, maps.Clone(lag))
}

// awaitProcessed waits until n messages have been reported processed: the
// consumer reports a message right after committing it, so a test that
// saw the commit may look a moment too early.
func (o *recordingObserver) awaitProcessed(t *testing.T, n int) {
	t.Helper()
	if !testenv.Eventually(5*time.Second, 10*time.Millisecond, func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.processed) >= n
	}) {
		processed, _, _ := o.snapshot()
		t.Fatalf("processed reports = %v, want %d", processed, n)
	}
}

// failures returns how many failed handler calls were reported.
func (o *recordingObserver) failures() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.failed
}

// lastLag returns the latest lag report and how many there were.
func (o *recordingObserver) lastLag() (map[int32]int64, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.lags) == 0 {
		return nil, 0
	}
	return o.lags[len(o.lags)-1], len(o.lags)
}

func (o *recordingObserver) Processed(_, outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.processed = append(o.processed, outcome)
}

func (o *recordingObserver) Retried(_, kind string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.retried++
	o.retriedKinds = append(o.retriedKinds, kind)
}

func (o *recordingObserver) Paused(_ string, paused bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pauses = append(o.pauses, paused)
}

// pausedNow reports the last Paused call's value and how many there were.
func (o *recordingObserver) pausedNow() (bool, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.pauses) == 0 {
		return false, 0
	}
	return o.pauses[len(o.pauses)-1], len(o.pauses)
}

func (o *recordingObserver) kinds() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.retriedKinds)
}

func (o *recordingObserver) DeadLettered(_, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.deadLettered = append(o.deadLettered, reason)
}

func (o *recordingObserver) snapshot() (processed []string, retried int, deadLettered []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.processed), o.retried, slices.Clone(o.deadLettered)
}

func header(msg *kafka.Message, key string) string {
	for _, h := range msg.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
