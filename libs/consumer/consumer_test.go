package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/otelkafka"
	"github.com/ssokit/platform/libs/testenv"
)

func TestHandlesEventCommitsAndResumesAfterRestart(t *testing.T) {
	h := newHarness(t)
	first := event(1)
	before := time.Now().Add(-time.Second)
	if off := h.produceEvent(first); off != 0 {
		t.Fatalf("first offset = %v, want 0", off)
	}

	got := newCalls()
	record := func(ctx context.Context, ev *eventsv1.UserRegistered, meta consumer.Metadata) error {
		got.add(ctx, ev, meta)
		return nil
	}
	a := h.start(h.config(), record)
	c := got.next(t)
	if !proto.Equal(c.event, first) {
		t.Errorf("event = %v, want %v", c.event, first)
	}
	m := c.meta
	if m.Topic != h.topic || m.Partition != 0 || m.Offset != 0 || string(m.Key) != first.UserId || m.Attempt != 1 {
		t.Errorf("metadata = %+v, want topic %s partition 0 offset 0 key %s attempt 1", m, h.topic, first.UserId)
	}
	if m.Timestamp.Before(before) || m.Timestamp.After(time.Now()) {
		t.Errorf("timestamp = %v, want about now", m.Timestamp)
	}
	if len(m.Headers) != 1 || m.Headers[0].Key != "event_id" || string(m.Headers[0].Value) != first.EventId {
		t.Errorf("headers = %v, want the event_id header", m.Headers)
	}
	h.waitCommitted(1)
	if err := a.stop(t); err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}

	// A new member of the same group resumes after the committed offset:
	// its first message is the second event, not a redelivery of the first.
	second := event(2)
	h.produceEvent(second)
	h.start(h.config(), record)
	c = got.next(t)
	if !proto.Equal(c.event, second) || c.meta.Offset != 1 {
		t.Fatalf("after restart got %v at offset %d, want the second event at offset 1", c.event, c.meta.Offset)
	}
	h.waitCommitted(2)

	h.obs.awaitProcessed(t, 2) // reported right after the commit
	processed, retried, dead := h.obs.snapshot()
	if !slices.Equal(processed, []string{consumer.OutcomeSuccess, consumer.OutcomeSuccess}) || retried != 0 || len(dead) != 0 {
		t.Errorf("observer saw processed=%v retried=%d dead-lettered=%v", processed, retried, dead)
	}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	tests := []struct {
		name string
		// fail makes attempt n fail; nil lets it succeed.
		fail func(ctx context.Context, attempt int) error
	}{
		{"error twice", func(_ context.Context, attempt int) error {
			if attempt < 3 {
				return fmt.Errorf("smtp: 451 try again later (attempt %d)", attempt)
			}
			return nil
		}},
		{"panic twice", func(_ context.Context, attempt int) error {
			if attempt < 3 {
				panic("nil map write")
			}
			return nil
		}},
		{"timeout twice", func(ctx context.Context, attempt int) error {
			if attempt < 3 {
				<-ctx.Done() // a hung call, cut by HandlerTimeout
				return ctx.Err()
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ev := event(1)
			h.produceEvent(ev)
			next := event(2)
			h.produceEvent(next)

			got := newCalls()
			cfg := h.config()
			cfg.HandlerTimeout = 300 * time.Millisecond
			h.start(cfg, func(ctx context.Context, e *eventsv1.UserRegistered, meta consumer.Metadata) error {
				got.add(ctx, e, meta)
				if e.UserId == ev.UserId {
					return tt.fail(ctx, meta.Attempt)
				}
				return nil
			})
			h.waitCommitted(2)
			if a := got.attemptsFor(ev.UserId); !slices.Equal(a, []int{1, 2, 3}) {
				t.Errorf("attempts = %v, want [1 2 3]", a)
			}
			if a := got.attemptsFor(next.UserId); !slices.Equal(a, []int{1}) {
				t.Errorf("attempts for the next event = %v, want [1]", a)
			}
			h.obs.awaitProcessed(t, 2) // reported right after the commit
			processed, retried, dead := h.obs.snapshot()
			if !slices.Equal(processed, []string{consumer.OutcomeSuccess, consumer.OutcomeSuccess}) || retried != 2 || len(dead) != 0 {
				t.Errorf("observer saw processed=%v retried=%d dead-lettered=%v; want 2 successes, 2 retries", processed, retried, dead)
			}
			if n := h.obs.failures(); n != 2 {
				t.Errorf("observer saw %d failed calls, want 2", n)
			}
		})
	}
}

func TestFailingMessageIsDeadLetteredAndThePartitionMovesOn(t *testing.T) {
	errSMTP := errors.New("smtp: 554 mailbox unavailable")
	tests := []struct {
		name         string
		err          error
		wantAttempts []int
		wantReason   string
	}{
		{"retries exhausted", errSMTP, []int{1, 2, 3}, consumer.ReasonExhausted},
		{"permanent error", fmt.Errorf("invalid address: %w", consumer.ErrPermanent), []int{1}, consumer.ReasonPermanent},
		// The handler's word wins over what the cause looks like.
		{"permanent beats transient", fmt.Errorf("%w: %w", consumer.ErrPermanent, consumer.ErrTransient), []int{1}, consumer.ReasonPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			bad, good := event(1), event(2)
			h.produceEvent(bad)
			h.produceEvent(good)

			got := newCalls()
			r := h.start(h.config(), func(ctx context.Context, e *eventsv1.UserRegistered, meta consumer.Metadata) error {
				got.add(ctx, e, meta)
				if e.UserId == bad.UserId {
					return tt.err
				}
				return nil
			})
			h.waitCommitted(2)
			if a := got.attemptsFor(bad.UserId); !slices.Equal(a, tt.wantAttempts) {
				t.Errorf("attempts = %v, want %v", a, tt.wantAttempts)
			}
			if a := got.attemptsFor(good.UserId); !slices.Equal(a, []int{1}) {
				t.Errorf("the next message was handled %v times, want once", a)
			}

			if r.c.DeadLetterTopic() != h.topic+"."+h.group+".dlq" {
				t.Errorf("dead-letter topic = %q", r.c.DeadLetterTopic())
			}
			dlq := h.readTopic(r.c.DeadLetterTopic(), 1)[0]
			wantValue, _ := h.ser.Serialize(h.topic, bad)
			if string(dlq.Key) != bad.UserId || string(dlq.Value) != string(wantValue) {
				t.Errorf("dead letter key %q value % x, want the original %q % x", dlq.Key, dlq.Value, bad.UserId, wantValue)
			}
			wantHeaders := map[string]string{
				"event_id":                       bad.EventId,
				consumer.HeaderError:             tt.err.Error(),
				consumer.HeaderReason:            tt.wantReason,
				consumer.HeaderOriginalTopic:     h.topic,
				consumer.HeaderOriginalPartition: "0",
				consumer.HeaderOriginalOffset:    "0",
				consumer.HeaderAttempts:          strconv.Itoa(len(tt.wantAttempts)),
				consumer.HeaderConsumerGroup:     h.group,
			}
			for k, v := range wantHeaders {
				if got := header(dlq, k); got != v {
					t.Errorf("dead letter header %s = %q, want %q", k, got, v)
				}
			}
			if len(dlq.Headers) != len(wantHeaders) {
				t.Errorf("dead letter headers = %v, want exactly %v", dlq.Headers, wantHeaders)
			}

			h.obs.awaitProcessed(t, 2) // reported right after the commit
			processed, retried, dead := h.obs.snapshot()
			if !slices.Equal(processed, []string{consumer.OutcomeDeadLettered, consumer.OutcomeSuccess}) ||
				retried != len(tt.wantAttempts)-1 || !slices.Equal(dead, []string{tt.wantReason}) {
				t.Errorf("observer saw processed=%v retried=%d dead-lettered=%v", processed, retried, dead)
			}
			if n := h.obs.failures(); n != len(tt.wantAttempts) {
				t.Errorf("observer saw %d failed calls, want %d", n, len(tt.wantAttempts))
			}
		})
	}
}

func TestPoisonIsDeadLetteredAtOnce(t *testing.T) {
	h := newHarness(t)
	poison := []struct {
		name  string
		value []byte
	}{
		{"not registry framed", []byte("plain text, not a registry-framed value")},
		{"too short to be framed", []byte{0, 0}},
		{"tombstone", nil},
		{"unknown schema id", []byte{0, 0x7f, 0xff, 0xff, 0xf0, 0, 0x0a, 0x01, 'x'}},
	}
	for i, p := range poison {
		h.produce(h.message([]byte(fmt.Sprintf("poison-%d", i)), p.value))
	}
	good := event(9)
	h.produceEvent(good)

	got := newCalls()
	r := h.start(h.config(), func(ctx context.Context, e *eventsv1.UserRegistered, meta consumer.Metadata) error {
		got.add(ctx, e, meta)
		return nil
	})
	c := got.next(t)
	if !proto.Equal(c.event, good) || c.meta.Attempt != 1 || c.meta.Offset != int64(len(poison)) {
		t.Fatalf("handler got %v attempt %d offset %d, want only the good event, once, at offset %d",
			c.event, c.meta.Attempt, c.meta.Offset, len(poison))
	}
	h.waitCommitted(kafka.Offset(len(poison) + 1))

	// The dead-letter topic may have several partitions (the broker's
	// default for auto-created topics), so its messages are matched by
	// their original offset, not read in order.
	byOffset := map[string]*kafka.Message{}
	for _, m := range h.readTopic(r.c.DeadLetterTopic(), len(poison)) {
		byOffset[header(m, consumer.HeaderOriginalOffset)] = m
	}
	for i, p := range poison {
		t.Run(p.name, func(t *testing.T) {
			m := byOffset[strconv.Itoa(i)]
			if m == nil {
				t.Fatalf("no dead letter for offset %d", i)
			}
			if string(m.Key) != fmt.Sprintf("poison-%d", i) || string(m.Value) != string(p.value) {
				t.Errorf("dead letter %d = %q % x, want the original", i, m.Key, m.Value)
			}
			if header(m, consumer.HeaderReason) != consumer.ReasonPoison || header(m, consumer.HeaderAttempts) != "0" ||
				header(m, consumer.HeaderError) == "" {
				t.Errorf("dead letter headers = %v", m.Headers)
			}
		})
	}
	h.obs.awaitProcessed(t, len(poison)+1) // reported right after the commit
	processed, retried, dead := h.obs.snapshot()
	if len(processed) != len(poison)+1 || retried != 0 || len(dead) != len(poison) || dead[0] != consumer.ReasonPoison {
		t.Errorf("observer saw processed=%v retried=%d dead-lettered=%v", processed, retried, dead)
	}
}

func TestShutdownLetsTheRunningHandlerFinishAndCommits(t *testing.T) {
	h := newHarness(t)
	h.produceEvent(event(1))

	started := make(chan struct{})
	release := make(chan struct{})
	ctxErr := make(chan error, 1)
	r := h.start(h.config(), func(ctx context.Context, _ *eventsv1.UserRegistered, _ consumer.Metadata) error {
		close(started)
		<-release // the half-sent e-mail
		ctxErr <- ctx.Err()
		return nil
	})
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("handler never started")
	}
	r.cancel()
	select {
	case err := <-r.done:
		t.Fatalf("Run returned %v while the handler was still running", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := r.wait(t, 30*time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if err := <-ctxErr; err != nil {
		t.Errorf("handler ctx was cancelled by shutdown: %v", err)
	}
	if got := h.committed(); got != 1 {
		t.Errorf("committed offset = %v, want 1", got)
	}
	if processed, _, _ := h.obs.snapshot(); !slices.Equal(processed, []string{consumer.OutcomeSuccess}) {
		t.Errorf("outcomes = %v, want one success", processed)
	}
}

func TestShutdownDuringBackoffLeavesTheMessageForRedelivery(t *testing.T) {
	h := newHarness(t)
	ev := event(1)
	h.produceEvent(ev)

	failed := make(chan struct{}, 10)
	cfg := h.config()
	cfg.MaxAttempts, cfg.InitialBackoff, cfg.MaxBackoff = 5, time.Minute, time.Minute
	r := h.start(cfg, func(context.Context, *eventsv1.UserRegistered, consumer.Metadata) error {
		failed <- struct{}{}
		return errors.New("database unavailable")
	})
	select {
	case <-failed:
	case <-time.After(30 * time.Second):
		t.Fatal("handler never called")
	}
	start := time.Now()
	if err := r.stop(t); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %v: the one-minute backoff was not interrupted", d)
	}
	if got := h.committed(); got != kafka.OffsetInvalid {
		t.Fatalf("committed offset = %v, want none", got)
	}
	if processed, _, dead := h.obs.snapshot(); !slices.Equal(processed, []string{consumer.OutcomeInterrupted}) || len(dead) != 0 {
		t.Errorf("observer saw processed=%v dead-lettered=%v, want one interruption", processed, dead)
	}

	// The next member of the group gets the message again.
	got := newCalls()
	h.start(h.config(), func(ctx context.Context, e *eventsv1.UserRegistered, meta consumer.Metadata) error {
		got.add(ctx, e, meta)
		return nil
	})
	c := got.next(t)
	if !proto.Equal(c.event, ev) || c.meta.Offset != 0 || c.meta.Attempt != 1 {
		t.Fatalf("redelivered %v at offset %d attempt %d, want the same event at offset 0, attempt 1", c.event, c.meta.Offset, c.meta.Attempt)
	}
	h.waitCommitted(1)
}

func TestHandlerContinuesTheProducersTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
	})

	h := newHarness(t)
	// Two events produced inside a request span each: one fails once and
	// then succeeds, one fails permanently.
	produceTraced := func(ev *eventsv1.UserRegistered) trace.SpanContext {
		ctx, req := otel.Tracer("test").Start(context.Background(), "register")
		defer req.End()
		value, err := h.ser.Serialize(h.topic, ev)
		if err != nil {
			t.Fatal(err)
		}
		msg := h.message([]byte(ev.UserId), value)
		_, span := otelkafka.StartProduce(ctx, msg)
		h.produce(msg)
		otelkafka.EndProduce(span, nil, nil)
		return span.SpanContext()
	}
	flaky, invalid := event(1), event(2)
	flakyProducer := produceTraced(flaky)
	invalidProducer := produceTraced(invalid)

	got := newCalls()
	h.start(h.config(), func(ctx context.Context, e *eventsv1.UserRegistered, meta consumer.Metadata) error {
		got.add(ctx, e, meta)
		switch {
		case e.UserId == invalid.UserId:
			return fmt.Errorf("no such mailbox: %w", consumer.ErrPermanent)
		case meta.Attempt == 1:
			return errors.New("smtp: 421 try later")
		}
		return nil
	})
	h.waitCommitted(2)

	for _, c := range []call{got.next(t), got.next(t), got.next(t)} {
		want := flakyProducer
		if c.event.UserId == invalid.UserId {
			want = invalidProducer
		}
		if sc := trace.SpanContextFromContext(c.ctx); sc.TraceID() != want.TraceID() {
			t.Errorf("%s attempt %d: handler trace id %s, want the producer's %s", c.event.UserId, c.meta.Attempt, sc.TraceID(), want.TraceID())
		}
	}

	var spans []sdktrace.ReadOnlySpan
	if !testenv.Eventually(5*time.Second, 20*time.Millisecond, func() bool {
		spans = nil
		for _, s := range rec.Ended() {
			if s.Name() == h.topic+" process" {
				spans = append(spans, s)
			}
		}
		return len(spans) == 2
	}) {
		t.Fatalf("ended %d process spans, want 2", len(spans))
	}
	tests := []struct {
		span       sdktrace.ReadOnlySpan
		producer   trace.SpanContext
		wantStatus codes.Code
		wantEvents []string
	}{
		{spans[0], flakyProducer, codes.Unset, []string{"exception"}},
		{spans[1], invalidProducer, codes.Error, []string{"exception", "dead_lettered"}},
	}
	for i, tt := range tests {
		s := tt.span
		if s.Parent().SpanID() != tt.producer.SpanID() || s.SpanContext().TraceID() != tt.producer.TraceID() {
			t.Errorf("span %d parent = %s in trace %s, want the producer span %s in %s",
				i, s.Parent().SpanID(), s.SpanContext().TraceID(), tt.producer.SpanID(), tt.producer.TraceID())
		}
		if s.SpanKind() != trace.SpanKindConsumer || s.Status().Code != tt.wantStatus {
			t.Errorf("span %d kind %v status %v, want consumer %v", i, s.SpanKind(), s.Status(), tt.wantStatus)
		}
		var events []string
		for _, e := range s.Events() {
			events = append(events, e.Name)
		}
		if !slices.Equal(events, tt.wantEvents) {
			t.Errorf("span %d events = %v, want %v", i, events, tt.wantEvents)
		}
	}
}

func TestCheck(t *testing.T) {
	h := newHarness(t)
	c, err := consumer.New(h.config(), func() *eventsv1.UserRegistered { return &eventsv1.UserRegistered{} },
		func(context.Context, *eventsv1.UserRegistered, consumer.Metadata) error { return nil }, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(h.ctx); err != nil {
		t.Errorf("Check against the running broker = %v, want nil", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := c.Check(h.ctx); !errors.Is(err, consumer.ErrClosed) {
		t.Errorf("Check after Close = %v, want ErrClosed", err)
	}
	if err := c.Run(h.ctx); !errors.Is(err, consumer.ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
}

func TestCheckReportsAnUnreachableBroker(t *testing.T) {
	cfg := consumer.Config{Brokers: "127.0.0.1:1", GroupID: "g", Topic: "t", SchemaRegistryURL: "http://127.0.0.1:1"}
	c, err := consumer.New(cfg, func() *eventsv1.UserRegistered { return &eventsv1.UserRegistered{} },
		func(context.Context, *eventsv1.UserRegistered, consumer.Metadata) error { return nil }, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	var kerr kafka.Error
	if err := c.Check(ctx); !errors.As(err, &kerr) {
		t.Errorf("Check = %v, want a kafka error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Check took %v, want it bounded by the 1s context", d)
	}
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	newEvent := func() *eventsv1.UserRegistered { return &eventsv1.UserRegistered{} }
	handle := func(context.Context, *eventsv1.UserRegistered, consumer.Metadata) error { return nil }
	if _, err := consumer.New(consumer.Config{Brokers: "127.0.0.1:1"}, newEvent, handle, testLogger(t)); err == nil {
		t.Error("New accepted a config without group, topic and registry")
	}
	cfg := consumer.Config{Brokers: "127.0.0.1:1", GroupID: "g", Topic: "t", SchemaRegistryURL: "http://127.0.0.1:1"}
	if _, err := consumer.New(cfg, newEvent, nil, testLogger(t)); err == nil {
		t.Error("New accepted a nil handler")
	}
}

// TestLagIsReportedForTheAssignedPartitions holds the first of three
// messages in its handler: the lag counts all three (nothing is committed
// yet), falls to zero once they are done, and is withdrawn when Run stops.
func TestLagIsReportedForTheAssignedPartitions(t *testing.T) {
	h := newHarness(t)
	for i := range 3 {
		h.produceEvent(event(i + 1))
	}
	release := make(chan struct{})
	cfg := h.config()
	cfg.LagInterval = 50 * time.Millisecond
	r := h.start(cfg, func(ctx context.Context, _ *eventsv1.UserRegistered, meta consumer.Metadata) error {
		if meta.Offset == 0 {
			<-release
		}
		return nil
	})

	waitLag := func(want map[int32]int64) {
		t.Helper()
		var got map[int32]int64
		if !testenv.Eventually(30*time.Second, 20*time.Millisecond, func() bool {
			got, _ = h.obs.lastLag()
			return got != nil && maps.Equal(got, want)
		}) {
			t.Fatalf("lag = %v, want %v", got, want)
		}
	}
	waitLag(map[int32]int64{0: 3})
	close(release)
	h.waitCommitted(3)
	waitLag(map[int32]int64{0: 0})

	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	last, n := h.obs.lastLag()
	if len(last) != 0 {
		t.Errorf("last lag report = %v, want an empty one once Run stopped", last)
	}
	// The sleep stays: it checks that nothing more happens, which no
	// condition can signal; it is a bound on a stray report, not a wait.
	time.Sleep(200 * time.Millisecond)
	if _, m := h.obs.lastLag(); m != n {
		t.Errorf("%d lag reports after Run returned", m-n)
	}
}

// TestTopicCreatedAfterTheConsumerStartedIsConsumed starts a consumer on
// a topic that does not exist yet, as on a fresh system where the first
// producer creates it, and probes its readiness meanwhile: once the topic
// appears, its first event arrives in seconds, not after the client's
// default five-minute metadata refresh.
func TestTopicCreatedAfterTheConsumerStartedIsConsumed(t *testing.T) {
	h := newHarness(t)
	late := testenv.Name(t, "late")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = h.admin.DeleteTopics(ctx, []string{late})
	})
	cfg := h.config()
	cfg.Topic, cfg.DeadLetterTopic = late, late+".dlq"
	got := newCalls()
	r := h.start(cfg, func(ctx context.Context, e *eventsv1.UserRegistered, meta consumer.Metadata) error {
		got.add(ctx, e, meta)
		return nil
	})
	// Readiness probes ask for the metadata of the missing topic, as the
	// services' /readyz does while the process starts.
	for range 3 {
		if err := r.c.Check(h.ctx); err != nil {
			t.Fatalf("Check: %v", err)
		}
		// The sleep stays: the probes are spaced as /readyz polls are,
		// and the test is about what they do to the metadata refresh.
		time.Sleep(time.Second)
	}

	// The producer creates the topic (auto.create.topics.enable).
	ev := event(1)
	value, err := h.ser.Serialize(h.topic, ev) // the harness topic's subject: it is cleaned up
	if err != nil {
		t.Fatal(err)
	}
	msg := h.message([]byte(ev.UserId), value)
	msg.TopicPartition.Topic = &late
	created := time.Now()
	h.produce(msg)
	c := got.next(t)
	if !proto.Equal(c.event, ev) || c.meta.Topic != late {
		t.Fatalf("got %v from %s, want the event from %s", c.event, c.meta.Topic, late)
	}
	if d := time.Since(created); d > 15*time.Second {
		t.Errorf("first event of a new topic handled after %v, want within 15s", d)
	}
}
