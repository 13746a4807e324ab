package otelkafka

import (
	"context"
	"strconv"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope (tracer name) of the spans this
// package creates: its import path.
const ScopeName = "github.com/ssokit/platform/libs/otelkafka"

// EventIDHeader is the header that, when present, becomes the span's
// messaging.message.id.
const EventIDHeader = "event_id"

// Operation names, as span name suffixes and messaging.operation.name.
const (
	operationPublish = "publish"
	operationProcess = "process"
)

func tracer() trace.Tracer {
	return otel.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))
}

// StartProduce starts a producer span "<topic> publish" as a child of ctx
// and injects its context into msg.Headers (replacing any trace headers
// already there), so the consumer continues this trace. Call it right
// before Produce; end the span with EndProduce when the delivery report
// arrives.
func StartProduce(ctx context.Context, msg *kafka.Message) (context.Context, trace.Span) {
	topic := topicOf(msg)
	attrs := append(commonAttrs(topic, msg),
		semconv.MessagingOperationName(operationPublish),
		semconv.MessagingOperationTypeSend,
	)
	if p := msg.TopicPartition.Partition; p >= 0 {
		attrs = append(attrs, semconv.MessagingDestinationPartitionID(strconv.Itoa(int(p))))
	}
	ctx, span := tracer().Start(ctx, spanName(topic, operationPublish),
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attrs...),
	)
	Inject(ctx, &msg.Headers)
	return ctx, span
}

// EndProduce finishes a span from StartProduce with the outcome of the
// delivery: report is the delivery report (its partition and offset are
// recorded), err a failure to enqueue or deliver. A non-nil err, or else a
// report carrying TopicPartition.Error, marks the span as failed. Either
// argument may be nil.
func EndProduce(span trace.Span, report *kafka.Message, err error) {
	if report != nil {
		if err == nil {
			err = report.TopicPartition.Error
		}
		if err == nil {
			span.SetAttributes(
				semconv.MessagingDestinationPartitionID(strconv.Itoa(int(report.TopicPartition.Partition))),
				semconv.MessagingKafkaOffset(int(report.TopicPartition.Offset)),
			)
		}
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// StartConsume extracts the producer's trace context from msg.Headers and
// starts a consumer span "<topic> process" as its child (or as a child of
// ctx when the message carries no trace context). group is the consumer
// group; the returned context carries the span for the handler's logs and
// calls.
func StartConsume(ctx context.Context, msg *kafka.Message, group string) (context.Context, trace.Span) {
	topic := topicOf(msg)
	attrs := append(commonAttrs(topic, msg),
		semconv.MessagingOperationName(operationProcess),
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingDestinationPartitionID(strconv.Itoa(int(msg.TopicPartition.Partition))),
		semconv.MessagingKafkaOffset(int(msg.TopicPartition.Offset)),
	)
	if group != "" {
		attrs = append(attrs, semconv.MessagingConsumerGroupName(group))
	}
	return tracer().Start(Extract(ctx, msg.Headers), spanName(topic, operationProcess),
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attrs...),
	)
}

// Inject writes the trace context of ctx into headers with the global
// propagator, replacing headers of the same names.
func Inject(ctx context.Context, headers *[]kafka.Header) {
	otel.GetTextMapPropagator().Inject(ctx, HeaderCarrier{Headers: headers})
}

// Extract returns ctx with the trace context found in headers (by the
// global propagator) as its remote parent; ctx is returned unchanged when
// the headers carry none.
func Extract(ctx context.Context, headers []kafka.Header) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, HeaderCarrier{Headers: &headers})
}

func commonAttrs(topic string, msg *kafka.Message) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKafka,
		semconv.MessagingDestinationName(topic),
		semconv.MessagingMessageBodySize(len(msg.Value)),
	}
	if len(msg.Key) > 0 {
		attrs = append(attrs, semconv.MessagingKafkaMessageKey(string(msg.Key)))
	}
	if msg.Value == nil {
		attrs = append(attrs, semconv.MessagingKafkaMessageTombstone(true))
	}
	if id := (HeaderCarrier{Headers: &msg.Headers}).Get(EventIDHeader); id != "" {
		attrs = append(attrs, semconv.MessagingMessageID(id))
	}
	return attrs
}

func topicOf(msg *kafka.Message) string {
	if msg.TopicPartition.Topic == nil {
		return ""
	}
	return *msg.TopicPartition.Topic
}

func spanName(topic, operation string) string {
	if topic == "" {
		return operation
	}
	return topic + " " + operation
}
