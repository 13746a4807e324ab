package consumer

import (
	"context"
	"log/slog"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// lagTimeout bounds each broker round trip of a lag measurement, so that
// a broker outage delays shutdown by seconds at most.
const lagTimeout = 2 * time.Second

// reportLag measures the lag of the assigned partitions every LagInterval
// and hands it to the Observer, until ctx ends.
func (c *Consumer[T]) reportLag(ctx context.Context) {
	tick := time.NewTicker(c.cfg.LagInterval)
	defer tick.Stop()
	last := map[int32]int64{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		lag, err := c.measureLag(last)
		if err != nil {
			c.log.DebugContext(ctx, "consumer lag not measured", slog.Any("error", err))
		}
		if ctx.Err() != nil {
			return // Run reports the final, empty lag itself
		}
		c.obs.Lag(c.cfg.Topic, lag)
		last = lag
	}
}

// measureLag returns the lag of each partition assigned now: its high
// watermark minus the group's committed offset, or minus its low watermark
// when the group has committed nothing there (auto.offset.reset=earliest:
// all of it is still to be consumed). A partition whose offsets cannot be
// read keeps its value from last, if it has one.
func (c *Consumer[T]) measureLag(last map[int32]int64) (map[int32]int64, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	lag := map[int32]int64{}
	if c.closed {
		return lag, ErrClosed
	}
	assigned, err := c.kc.Assignment()
	if err != nil || len(assigned) == 0 {
		return lag, err
	}
	keepLast := func(p int32) {
		if v, ok := last[p]; ok {
			lag[p] = v
		}
	}
	committed, err := c.kc.Committed(assigned, int(lagTimeout.Milliseconds()))
	if err != nil {
		for _, tp := range assigned {
			keepLast(tp.Partition)
		}
		return lag, err
	}
	var firstErr error
	for _, tp := range committed {
		if tp.Topic == nil || *tp.Topic != c.cfg.Topic {
			continue
		}
		p := tp.Partition
		n, err := c.partitionLag(p, tp)
		if err != nil {
			keepLast(p)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		lag[p] = n
	}
	return lag, firstErr
}

// partitionLag computes one partition's lag from its committed offset tp.
// The high watermark comes from the client's cache, refreshed by every
// fetch response; the brokers are asked only when the cache is empty or
// the low watermark is needed.
func (c *Consumer[T]) partitionLag(p int32, tp kafka.TopicPartition) (int64, error) {
	if tp.Error != nil {
		return 0, tp.Error
	}
	committed := int64(tp.Offset)
	low, high, err := c.kc.GetWatermarkOffsets(c.cfg.Topic, p)
	if err != nil || high < 0 || committed < 0 {
		low, high, err = c.kc.QueryWatermarkOffsets(c.cfg.Topic, p, int(lagTimeout.Milliseconds()))
		if err != nil {
			return 0, err
		}
	}
	if committed < 0 {
		committed = low
	}
	// The cached high watermark may predate the latest commit.
	return max(high-committed, 0), nil
}
