package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Reasons a wait of the consumer ends early.
var (
	errInterrupted = errors.New("interrupted by shutdown")
	errRevoked     = errors.New("partition revoked")
)

// waitOutcome maps an error from wait to the message's outcome, and reports
// whether it was one.
func waitOutcome(err error) (string, bool) {
	switch {
	case errors.Is(err, errRevoked):
		return OutcomeRevoked, true
	case errors.Is(err, errInterrupted):
		return OutcomeInterrupted, true
	}
	return "", false
}

// wait lets d pass before the message being processed is tried again, and
// keeps polling meanwhile. A member that stops polling for longer than
// max.poll.interval.ms is evicted from its group, and a dependency outage
// can last far longer than that; polling also runs the rebalance callback,
// so the member hands over partitions it is asked for instead of blocking
// the group. To poll without consuming, the first wait for a message
// pauses every partition assigned to the member (release resumes them),
// and a message that Poll still returns (fetched before the pause, or from
// a partition assigned since) is given back: its partition is paused and
// rewound to it, so it is fetched again after the resume.
//
// wait returns nil after d, errInterrupted when ctx ends, errRevoked when
// the message's partition was revoked meanwhile (it is no longer ours to
// finish), and errInterrupted too after a fatal client error, which Run
// then returns.
func (c *Consumer[T]) wait(ctx context.Context, log *slog.Logger, d time.Duration) error {
	if c.paused == nil {
		parts, err := c.kc.Assignment()
		if err == nil {
			err = c.kc.Pause(parts)
		}
		if err != nil {
			// Still safe: the fetched messages are given back below.
			log.WarnContext(ctx, "pausing the partitions failed", slog.Any("error", err))
		}
		c.paused = append(make([]kafka.TopicPartition, 0, len(parts)), parts...)
	}
	deadline := time.Now().Add(d)
	for {
		if c.revoked {
			return errRevoked
		}
		if ctx.Err() != nil || c.fatal != nil {
			return errInterrupted
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		switch ev := c.kc.Poll(int(min(left, 100*time.Millisecond).Milliseconds()) + 1).(type) {
		case *kafka.Message:
			c.giveBack(ctx, log, ev)
		case kafka.Error:
			if ev.IsFatal() {
				c.fatal = fmt.Errorf("kafka consumer: %w", ev)
			} else {
				log.WarnContext(ctx, "kafka consumer error", slog.Any("error", ev))
			}
		}
	}
}

// giveBack pauses msg's partition and rewinds it to msg, so that msg is
// fetched again once release resumes the partition.
func (c *Consumer[T]) giveBack(ctx context.Context, log *slog.Logger, msg *kafka.Message) {
	tp := kafka.TopicPartition{Topic: msg.TopicPartition.Topic, Partition: msg.TopicPartition.Partition}
	if !slices.ContainsFunc(c.paused, func(p kafka.TopicPartition) bool { return samePartition(p, tp) }) {
		if err := c.kc.Pause([]kafka.TopicPartition{tp}); err != nil {
			log.WarnContext(ctx, "pausing a partition failed", slog.Int("partition", int(tp.Partition)), slog.Any("error", err))
		}
		c.paused = append(c.paused, tp)
	}
	tp.Offset = msg.TopicPartition.Offset
	if _, err := c.kc.SeekPartitions([]kafka.TopicPartition{tp}); err != nil {
		// Without the rewind the message would be skipped: stop, leave
		// the group, and let the next member start from the commit.
		c.fatal = fmt.Errorf("rewinding a paused partition: %w", err)
	}
}

// release resumes what wait paused, once the message is done with, and
// clears the paused gauge.
func (c *Consumer[T]) release(log *slog.Logger) {
	c.holding = nil
	if c.paused == nil {
		return
	}
	c.obs.Paused(c.cfg.Topic, false)
	// Partitions revoked meanwhile are not ours to resume; the client
	// reports them per partition, which is ignored.
	if err := c.kc.Resume(c.paused); err != nil {
		log.Warn("resuming the partitions failed", slog.Any("error", err))
	}
	c.paused = nil
}

func samePartition(a, b kafka.TopicPartition) bool {
	return a.Partition == b.Partition && a.Topic != nil && b.Topic != nil && *a.Topic == *b.Topic
}
