package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ssokit/platform/libs/otelkafka"
)

// Headers added to a dead-lettered message, beside its original headers.
// A message dead-lettered again (after a replay) has them replaced.
const (
	// HeaderError is the error that sent the message to the dead-letter
	// topic (truncated to 4 KiB).
	HeaderError = "dlq.error"
	// HeaderReason is ReasonPoison, ReasonPermanent or ReasonExhausted.
	HeaderReason = "dlq.reason"
	// HeaderOriginalTopic, HeaderOriginalPartition and HeaderOriginalOffset
	// locate the original message (partition and offset in decimal).
	HeaderOriginalTopic     = "dlq.original.topic"
	HeaderOriginalPartition = "dlq.original.partition"
	HeaderOriginalOffset    = "dlq.original.offset"
	// HeaderAttempts is how many times the handler was called, in decimal:
	// 0 for poison, which never reaches the handler.
	HeaderAttempts = "dlq.attempts"
	// HeaderConsumerGroup is the group that gave up on the message.
	HeaderConsumerGroup = "dlq.consumer.group"
)

const maxErrorHeader = 4096

// deliveryTimeout bounds the wait for one dead-letter delivery report; a
// failure is retried with backoff.
const deliveryTimeout = 15000 // ms

func newProducer(cfg Config) (*kafka.Producer, error) {
	p, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers":    cfg.Brokers,
		"client.id":            cfg.GroupID + "-dlq",
		"enable.idempotence":   true,
		"acks":                 "all",
		"message.timeout.ms":   deliveryTimeout,
		"log.connection.close": false,
		// Events carries only client errors here (delivery reports go to
		// per-message channels) and ProduceChannel is not used; the Go
		// client's default of a million entries each is 24 MB of pointers
		// the garbage collector would scan on every cycle.
		"go.events.channel.size":  100,
		"go.produce.channel.size": 1,
	})
	if err != nil {
		return nil, fmt.Errorf("kafka dead-letter producer: %w", err)
	}
	return p, nil
}

// drainProducerEvents logs the producer's client-level errors; delivery
// reports go to per-message channels, not here. It ends when the producer
// is closed.
func (c *Consumer[T]) drainProducerEvents(p *kafka.Producer) {
	for ev := range p.Events() {
		if err, ok := ev.(kafka.Error); ok {
			c.log.Warn("kafka dead-letter producer error", slog.Any("error", err))
		}
	}
}

// deadLetter writes msg's original key, value and headers, plus the DLQ
// headers, to the dead-letter topic and waits for the broker's
// acknowledgement, retrying with backoff for as long as it takes. It
// returns OutcomeDeadLettered, or OutcomeInterrupted (shutdown) or
// OutcomeRevoked when a wait was cut short before the write succeeded (the
// message is then not committed).
func (c *Consumer[T]) deadLetter(ctx, mctx context.Context, log *slog.Logger, msg *kafka.Message, reason string, cause error, attempts int) string {
	dlq := &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &c.cfg.DeadLetterTopic, Partition: kafka.PartitionAny},
		Key:            msg.Key,
		Value:          msg.Value,
		Headers:        slices.Clone(msg.Headers),
	}
	errText := cause.Error()
	if len(errText) > maxErrorHeader {
		errText = errText[:maxErrorHeader]
	}
	h := otelkafka.HeaderCarrier{Headers: &dlq.Headers}
	h.Set(HeaderError, errText)
	h.Set(HeaderReason, reason)
	h.Set(HeaderOriginalTopic, c.cfg.Topic)
	h.Set(HeaderOriginalPartition, strconv.Itoa(int(msg.TopicPartition.Partition)))
	h.Set(HeaderOriginalOffset, strconv.FormatInt(int64(msg.TopicPartition.Offset), 10))
	h.Set(HeaderAttempts, strconv.Itoa(attempts))
	h.Set(HeaderConsumerGroup, c.cfg.GroupID)

	for try := 1; ; try++ {
		err := c.produce(dlq)
		if err == nil {
			break
		}
		delay := backoff(try, c.cfg.InitialBackoff, c.cfg.MaxBackoff, c.rnd)
		log.ErrorContext(mctx, "dead-letter write failed; will retry, offset not committed",
			slog.String("dead_letter_topic", c.cfg.DeadLetterTopic), slog.String("retry_in", delay.String()), slog.Any("error", err))
		if err := c.wait(ctx, log, delay); err != nil {
			o, _ := waitOutcome(err)
			return o
		}
	}

	span := trace.SpanFromContext(mctx)
	span.AddEvent("dead_lettered", trace.WithAttributes(
		attribute.String("messaging.dead_letter.topic", c.cfg.DeadLetterTopic),
		attribute.String("messaging.dead_letter.reason", reason),
	))
	span.SetStatus(codes.Error, errText)
	log.ErrorContext(mctx, "message dead-lettered",
		slog.String("reason", reason), slog.Int("attempts", attempts),
		slog.String("dead_letter_topic", c.cfg.DeadLetterTopic), slog.Any("error", cause))
	c.obs.DeadLettered(c.cfg.Topic, reason)
	return OutcomeDeadLettered
}

// produce sends msg and waits for its delivery report, which comes within
// the producer's message.timeout.ms. A fatal producer error (the
// idempotent producer's state is lost) replaces the producer, so the retry
// has a working one.
func (c *Consumer[T]) produce(msg *kafka.Message) error {
	report := make(chan kafka.Event, 1)
	err := c.producer.Produce(msg, report)
	if err == nil {
		if m, ok := (<-report).(*kafka.Message); ok {
			err = m.TopicPartition.Error
		} else {
			err = errors.New("unexpected delivery event")
		}
	}
	var kerr kafka.Error
	if errors.As(err, &kerr) && kerr.IsFatal() {
		p, perr := newProducer(c.cfg)
		if perr != nil {
			return errors.Join(err, perr)
		}
		c.producer.Close()
		c.producer = p
		go c.drainProducerEvents(p)
	}
	return err
}
