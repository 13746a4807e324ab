package service_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/ssokit/platform/libs/consumer"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/kafkatest"
)

// readDeadLetter reads the process's dead-letter topic from the start, in
// a consumer group of its own (deleted afterwards), until it finds the
// message carrying eventID (the original value is kept byte for byte, and
// a protobuf string field appears in it verbatim).
func (h *harness) readDeadLetter(t *testing.T, eventID string) *kafka.Message {
	t.Helper()
	ctx := testenv.Context(t, 60*time.Second)
	group := testenv.Name(t, "dlq_reader")
	topic := consumer.DefaultDeadLetterTopic(h.cfg.Consumer.Topic, h.cfg.Consumer.GroupID)
	c := kafkatest.Reader(t, group, topic)
	t.Cleanup(func() {
		c.Close()
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = h.kafka.DeleteConsumerGroups(dctx, []string{group})
	})
	for ctx.Err() == nil {
		msg, err := c.ReadMessage(time.Second)
		if err != nil {
			continue // a timeout, or the topic not created yet
		}
		if bytes.Contains(msg.Value, []byte(eventID)) {
			return msg
		}
	}
	t.Fatalf("event %s never reached the dead-letter topic %s", eventID, topic)
	return nil
}
