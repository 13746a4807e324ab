// Package kafkatest gives tests what they need to look at Kafka topics of
// the local stack directly. It is apart from testenv so that tests which
// never touch Kafka do not link the Kafka client.
package kafkatest

import (
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/ssokit/platform/libs/testenv"
)

// Reader returns a consumer in group, subscribed to topic, that reads from
// the topic's beginning and commits nothing, so each new group sees every
// message. It fails tb when the client cannot be made or subscribe. The
// caller closes it.
func Reader(tb testing.TB, group, topic string) *kafka.Consumer {
	tb.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":  testenv.KafkaBrokers,
		"group.id":           group,
		"auto.offset.reset":  "earliest",
		"enable.auto.commit": false,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Subscribe(topic, nil); err != nil {
		c.Close()
		tb.Fatal(err)
	}
	return c
}
