package outbox

import (
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// NewProducer returns the producer a Relay needs: idempotent (no
// duplicates or reordering from its own retries), acks=all (a delivery
// report means every in-sync replica has the message), and a
// message.timeout.ms of messageTimeout, so that a message Kafka cannot take
// turns into a failed delivery report in bounded time rather than waiting
// in memory. It does not connect yet: it can be built while Kafka is down.
func NewProducer(brokers string, messageTimeout time.Duration) (*kafka.Producer, error) {
	p, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers":  brokers,
		"client.id":          "sso-outbox",
		"enable.idempotence": true,
		"acks":               "all",
		"message.timeout.ms": int(messageTimeout.Milliseconds()),
		// Batch for up to 25 ms. Every batch is a produce request and a
		// delivery report that wakes the client's poller goroutine, which
		// then blocks in C again holding a Go scheduler P until the runtime
		// takes it back: at 5 ms, with a batch per registration, that held
		// 13% of sso's P time in the register benchmark. 25 ms raised
		// register from 51-55/s to 58-61/s and moved the commit -> credit
		// p99 from 45 to 66 ms, against a target of 150; 50 ms bought
		// nothing more.
		"linger.ms": 25,
		// The relay keys reports by msg.Opaque; copying key and value back
		// is waste.
		"go.delivery.report.fields": "none",
		// While Kafka is down the relay logs the outage once; the client's
		// own reconnect chatter adds nothing.
		"log.connection.close": false,
		// The client reports what the relay acts on (outages, failed
		// deliveries) as events, which the relay logs as structured
		// records. Its own log lines would need the Go client's Logs
		// channel, served by a second goroutine that blocks in C for 100 ms
		// at a time holding one of the Go scheduler's Ps until the runtime
		// takes it back (milliseconds later); in the login benchmark that
		// was idle CPU with hashes queued. So the lines stay in librdkafka,
		// which prints only critical ones, as raw text on stderr.
		"log_level": 2,
		// The Go client's channels default to a million entries each, 24 MB
		// of pointers allocated up front, which the garbage collector
		// scanned on every cycle (a tenth of sso's CPU in the register
		// benchmark) and which became resident as the ring buffers turned.
		// Delivery reports (Events) wait in librdkafka's own queue while this
		// one is full; ProduceChannel is not used.
		"go.events.channel.size":  10_000,
		"go.produce.channel.size": 1,
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: kafka producer: %w", err)
	}
	return p, nil
}
