// Package kafkahealth tells whether a Kafka cluster answers, for readiness
// endpoints. It asks for cluster metadata, which needs a live broker
// connection, rather than only dialling a TCP port.
package kafkahealth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Checker holds one admin connection to the cluster for repeated checks.
type Checker struct {
	admin *kafka.AdminClient
}

// New returns a Checker for the comma-separated bootstrap brokers. It does
// not connect yet; Check does.
func New(brokers string) (*Checker, error) {
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{
		"bootstrap.servers": brokers,
		// Quiet the client's own reconnect logging while Kafka is down:
		// readiness already reports it.
		"log.connection.close": false,
	})
	if err != nil {
		return nil, fmt.Errorf("kafka admin client: %w", err)
	}
	return &Checker{admin: admin}, nil
}

// Check returns nil when a broker answers a metadata request before ctx ends
// (at most five seconds).
func (c *Checker) Check(ctx context.Context) error {
	timeout := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if timeout <= 0 {
		return context.DeadlineExceeded
	}
	md, err := c.admin.GetMetadata(nil, false, int(timeout.Milliseconds()))
	if err != nil {
		return fmt.Errorf("kafka metadata: %w", err)
	}
	if len(md.Brokers) == 0 {
		return errors.New("kafka metadata: no brokers")
	}
	return nil
}

// Close releases the admin connection.
func (c *Checker) Close() error {
	c.admin.Close()
	return nil
}
