package otelkafka_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ssokit/platform/libs/otelkafka"
)

// recordSpans installs a tracer provider that records every ended span and
// the W3C propagator as the globals for the duration of the test.
func recordSpans(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
	})
	return rec
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]string {
	m := make(map[attribute.Key]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.Emit()
	}
	return m
}

func TestHeaderCarrier(t *testing.T) {
	h := func(kv ...string) []kafka.Header {
		var hs []kafka.Header
		for i := 0; i < len(kv); i += 2 {
			hs = append(hs, kafka.Header{Key: kv[i], Value: []byte(kv[i+1])})
		}
		return hs
	}
	tests := []struct {
		name     string
		headers  []kafka.Header
		set      [2]string
		want     []kafka.Header
		wantKeys []string
	}{
		{"set on empty", nil, [2]string{"traceparent", "a"}, h("traceparent", "a"), []string{"traceparent"}},
		{"set appends a new key", h("event_id", "e1"), [2]string{"traceparent", "a"},
			h("event_id", "e1", "traceparent", "a"), []string{"event_id", "traceparent"}},
		{"set replaces every header of that key", h("traceparent", "old", "event_id", "e1", "traceparent", "older"),
			[2]string{"traceparent", "new"}, h("event_id", "e1", "traceparent", "new"), []string{"event_id", "traceparent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := slices.Clone(tt.headers)
			headers := tt.headers
			c := otelkafka.HeaderCarrier{Headers: &headers}
			c.Set(tt.set[0], tt.set[1])
			if !slices.EqualFunc(headers, tt.want, headerEqual) {
				t.Fatalf("headers = %v, want %v", headers, tt.want)
			}
			if got := c.Get(tt.set[0]); got != tt.set[1] {
				t.Errorf("Get(%q) = %q, want %q", tt.set[0], got, tt.set[1])
			}
			if got := c.Keys(); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("Keys() = %v, want %v", got, tt.wantKeys)
			}
			if !slices.EqualFunc(tt.headers, orig, headerEqual) {
				t.Errorf("Set changed the caller's original slice: %v, was %v", tt.headers, orig)
			}
		})
	}

	var none otelkafka.HeaderCarrier
	if none.Get("x") != "" || none.Keys() != nil {
		t.Error("zero carrier should read as empty")
	}
	none.Set("x", "y") // must not panic
	headers := h("a", "1", "a", "2")
	if got := (otelkafka.HeaderCarrier{Headers: &headers}).Get("a"); got != "1" {
		t.Errorf("Get returns %q, want the first value 1", got)
	}
}

func headerEqual(a, b kafka.Header) bool { return a.Key == b.Key && string(a.Value) == string(b.Value) }

// TestProducerAndConsumerShareOneTrace follows one message from a request
// span through the producer span and the headers to the consumer span.
func TestProducerAndConsumerShareOneTrace(t *testing.T) {
	rec := recordSpans(t)
	topic := "user.registered"

	reqCtx, reqSpan := otel.Tracer("test").Start(context.Background(), "POST /v1/auth/register")
	msg := &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            []byte("user-42"),
		Value:          []byte("payload"),
		Headers:        []kafka.Header{{Key: "event_id", Value: []byte("ev-1")}},
	}
	prodCtx, prodSpan := otelkafka.StartProduce(reqCtx, msg)
	if trace.SpanFromContext(prodCtx) != prodSpan {
		t.Fatal("StartProduce context does not carry its span")
	}
	// The broker stores the message in partition 3 at offset 42.
	report := *msg
	report.TopicPartition.Partition, report.TopicPartition.Offset = 3, 42
	otelkafka.EndProduce(prodSpan, &report, nil)
	reqSpan.End()

	// A different process receives it, with a fresh context.
	received := report
	consCtx, consSpan := otelkafka.StartConsume(context.Background(), &received, "welcome-notifier")
	consSpan.End()

	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("ended %d spans, want 3", len(spans))
	}
	// Ended in order: producer (delivery report), request, consumer.
	prod, req, cons := spans[0], spans[1], spans[2]

	traceID := req.SpanContext().TraceID()
	for _, s := range []sdktrace.ReadOnlySpan{prod, cons} {
		if s.SpanContext().TraceID() != traceID {
			t.Errorf("span %q trace id %s, want %s", s.Name(), s.SpanContext().TraceID(), traceID)
		}
	}
	if got := trace.SpanContextFromContext(consCtx).TraceID(); got != traceID {
		t.Errorf("consumer context trace id %s, want %s", got, traceID)
	}
	if prod.Parent().SpanID() != req.SpanContext().SpanID() {
		t.Errorf("producer parent = %s, want the request span %s", prod.Parent().SpanID(), req.SpanContext().SpanID())
	}
	if cons.Parent().SpanID() != prod.SpanContext().SpanID() || !cons.Parent().IsRemote() {
		t.Errorf("consumer parent = %s (remote %v), want the producer span %s, remote",
			cons.Parent().SpanID(), cons.Parent().IsRemote(), prod.SpanContext().SpanID())
	}

	if prod.Name() != "user.registered publish" || prod.SpanKind() != trace.SpanKindProducer {
		t.Errorf("producer span = %q %v, want %q producer", prod.Name(), prod.SpanKind(), "user.registered publish")
	}
	if cons.Name() != "user.registered process" || cons.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("consumer span = %q %v, want %q consumer", cons.Name(), cons.SpanKind(), "user.registered process")
	}
	if prod.InstrumentationScope().Name != otelkafka.ScopeName {
		t.Errorf("scope = %q, want %q", prod.InstrumentationScope().Name, otelkafka.ScopeName)
	}

	wantProd := map[attribute.Key]string{
		"messaging.system":                   "kafka",
		"messaging.destination.name":         topic,
		"messaging.operation.name":           "publish",
		"messaging.operation.type":           "send",
		"messaging.kafka.message.key":        "user-42",
		"messaging.message.id":               "ev-1",
		"messaging.message.body.size":        "7",
		"messaging.destination.partition.id": "3",
		"messaging.kafka.offset":             "42",
	}
	wantCons := map[attribute.Key]string{
		"messaging.system":                   "kafka",
		"messaging.destination.name":         topic,
		"messaging.operation.name":           "process",
		"messaging.operation.type":           "process",
		"messaging.kafka.message.key":        "user-42",
		"messaging.message.id":               "ev-1",
		"messaging.message.body.size":        "7",
		"messaging.destination.partition.id": "3",
		"messaging.kafka.offset":             "42",
		"messaging.consumer.group.name":      "welcome-notifier",
	}
	for _, c := range []struct {
		span sdktrace.ReadOnlySpan
		want map[attribute.Key]string
	}{{prod, wantProd}, {cons, wantCons}} {
		got := attrMap(c.span.Attributes())
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", c.span.Name(), k, got[k], v)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: attributes %v, want exactly %v", c.span.Name(), got, c.want)
		}
	}
	if prod.Status().Code != codes.Unset || cons.Status().Code != codes.Unset {
		t.Errorf("statuses = %v, %v; want unset", prod.Status(), cons.Status())
	}
}

func TestStartProduceReplacesTraceHeaders(t *testing.T) {
	recordSpans(t)
	topic := "t"
	msg := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}}
	_, first := otelkafka.StartProduce(context.Background(), msg)
	first.End()
	_, second := otelkafka.StartProduce(context.Background(), msg)
	second.End()

	var values []string
	for _, h := range msg.Headers {
		if h.Key == "traceparent" {
			values = append(values, string(h.Value))
		}
	}
	if len(values) != 1 {
		t.Fatalf("traceparent headers = %v, want exactly one", values)
	}
	want := "00-" + second.SpanContext().TraceID().String() + "-" + second.SpanContext().SpanID().String() + "-01"
	if values[0] != want {
		t.Errorf("traceparent = %q, want %q", values[0], want)
	}
}

func TestStartConsumeWithoutTraceHeadersStartsFromCtx(t *testing.T) {
	rec := recordSpans(t)
	topic := "t"
	msg := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: 0, Offset: 7}}
	_, span := otelkafka.StartConsume(context.Background(), msg, "")
	span.End()

	s := rec.Ended()[0]
	if s.Parent().IsValid() {
		t.Errorf("parent = %v, want a root span", s.Parent())
	}
	got := attrMap(s.Attributes())
	if _, ok := got["messaging.consumer.group.name"]; ok {
		t.Error("consumer group set although none was given")
	}
	if _, ok := got["messaging.kafka.message.key"]; ok {
		t.Error("message key set although the message has none")
	}
	if got["messaging.kafka.offset"] != "7" || got["messaging.destination.partition.id"] != "0" {
		t.Errorf("attributes = %v", got)
	}
}

func TestEndProduceRecordsDeliveryFailure(t *testing.T) {
	tests := []struct {
		name    string
		report  *kafka.Message
		err     error
		wantErr string
	}{
		{"delivery report error", &kafka.Message{TopicPartition: kafka.TopicPartition{
			Error: kafka.NewError(kafka.ErrMsgTimedOut, "timed out", false)}}, nil, "timed out"},
		{"produce call error", nil, errors.New("queue full"), "queue full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := recordSpans(t)
			topic := "t"
			_, span := otelkafka.StartProduce(context.Background(), &kafka.Message{
				TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}})
			otelkafka.EndProduce(span, tt.report, tt.err)

			s := rec.Ended()[0]
			if s.Status().Code != codes.Error || s.Status().Description != tt.wantErr {
				t.Errorf("status = %+v, want error %q", s.Status(), tt.wantErr)
			}
			if len(s.Events()) != 1 || s.Events()[0].Name != "exception" {
				t.Errorf("events = %v, want one exception", s.Events())
			}
			if _, ok := attrMap(s.Attributes())["messaging.kafka.offset"]; ok {
				t.Error("offset recorded for a failed delivery")
			}
		})
	}
}

func TestInjectExtractRoundTrip(t *testing.T) {
	recordSpans(t)
	ctx, span := otel.Tracer("test").Start(context.Background(), "root")
	defer span.End()
	var headers []kafka.Header
	otelkafka.Inject(ctx, &headers)
	got := trace.SpanContextFromContext(otelkafka.Extract(context.Background(), headers))
	if got.TraceID() != span.SpanContext().TraceID() || got.SpanID() != span.SpanContext().SpanID() || !got.IsRemote() {
		t.Errorf("extracted %v, want remote %v", got, span.SpanContext())
	}
}
