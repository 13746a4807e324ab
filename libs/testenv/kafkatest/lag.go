package kafkatest

import (
	"context"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Lag returns how many messages of topic group has not yet committed past:
// the sum over the topic's partitions of the high watermark less the
// group's committed offset (a partition the group never committed counts
// whole). Zero means the group has handled, and committed, everything the
// topic held when asked, which is what a test waits for before it checks
// that a redelivery had no second effect, instead of sleeping. A test that
// polls makes admin once (kafka.NewAdminClient) and passes it to each call.
func Lag(ctx context.Context, admin *kafka.AdminClient, group, topic string) (int64, error) {
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	md, err := admin.GetMetadata(&topic, false, int(timeout.Milliseconds()))
	if err != nil {
		return 0, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	tm, ok := md.Topics[topic]
	if !ok || tm.Error.Code() != kafka.ErrNoError {
		return 0, fmt.Errorf("topic %s: %v", topic, tm.Error)
	}

	parts := make([]kafka.TopicPartition, 0, len(tm.Partitions))
	latest := make(map[kafka.TopicPartition]kafka.OffsetSpec, len(tm.Partitions))
	for _, p := range tm.Partitions {
		tp := kafka.TopicPartition{Topic: &topic, Partition: p.ID}
		parts = append(parts, tp)
		latest[tp] = kafka.LatestOffsetSpec
	}
	ends, err := admin.ListOffsets(ctx, latest)
	if err != nil {
		return 0, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	committed, err := admin.ListConsumerGroupOffsets(ctx, []kafka.ConsumerGroupTopicPartitions{{Group: group, Partitions: parts}})
	if err != nil {
		return 0, fmt.Errorf("offsets of group %s: %w", group, err)
	}
	at := map[int32]kafka.Offset{}
	for _, g := range committed.ConsumerGroupsTopicPartitions {
		for _, tp := range g.Partitions {
			if tp.Error != nil {
				return 0, fmt.Errorf("offset of group %s on %s[%d]: %w", group, topic, tp.Partition, tp.Error)
			}
			at[tp.Partition] = tp.Offset
		}
	}
	var lag int64
	for tp, end := range ends.ResultInfos {
		if end.Error.Code() != kafka.ErrNoError {
			return 0, fmt.Errorf("end offset of %s[%d]: %v", topic, tp.Partition, end.Error)
		}
		done := at[tp.Partition]
		if done < 0 { // no commit yet
			done = 0
		}
		lag += int64(end.Offset - done)
	}
	return lag, nil
}
