package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// HeaderReplays counts, in decimal, how many times a message was moved
// back from the dead-letter topic by Replay. It is the one dlq.* header a
// replayed message carries on the source topic; if it is dead-lettered
// again, the next replay counts on from it.
const HeaderReplays = "dlq.replays"

// ReplayConfig says whose dead letters Replay moves back, and how many.
type ReplayConfig struct {
	// Brokers is the comma-separated bootstrap server list.
	Brokers string
	// GroupID is the consumer group that dead-lettered the messages, and
	// Topic the topic it consumes, where they go back to.
	GroupID, Topic string
	// DeadLetterTopic is read; default DefaultDeadLetterTopic(Topic, GroupID).
	DeadLetterTopic string
	// Limit, when positive, is the most messages moved in this run.
	Limit int
	// DryRun lists what would be moved, and moves and commits nothing.
	DryRun bool
}

// ReplayResult is what Replay did.
type ReplayResult struct {
	// Moved is how many dead letters were re-published to the source topic
	// and committed on the dead-letter topic; with DryRun, how many would
	// have been.
	Moved int
	// Left is how many dead letters that were there when Replay started it
	// did not move (because of Limit, or an error).
	Left int64
}

// ReplayGroup is the consumer group whose committed offsets on the
// dead-letter topic mark how far Replay has moved messages back:
// "<group>.dlq-replay".
func ReplayGroup(group string) string { return group + ".dlq-replay" }

// replayBatch is how many messages are re-published before their
// dead-letter offsets are committed.
const replayBatch = 100

// kafkaTimeout bounds each metadata and offset request of Replay.
const kafkaTimeout = 10 * time.Second

// Replay moves the dead letters of cfg.GroupID back to cfg.Topic, for the
// consumer to handle again once the cause of their failure is fixed. It
// reads the dead-letter topic from where the previous replay stopped (the
// offsets committed by ReplayGroup) up to its end as it was when Replay
// started, so a message that fails again during the replay is not replayed
// twice in one run. Each message keeps its key, value and original headers;
// the dlq.* headers are dropped and HeaderReplays is set. It goes to its
// original partition when the source topic still has it, so a key's
// messages stay in order, and otherwise to the key's partition.
//
// Delivery is at least once: a dead letter's offset is committed only after
// the broker acknowledged its re-publication (idempotent producer,
// acks=all). A crash, or a failed delivery, between the two leaves it to
// be re-published by the next replay; the consumers' handlers are
// idempotent, so the duplicate has no second effect. Run one replay per
// group at a time: two at once re-publish the same messages.
func Replay(ctx context.Context, cfg ReplayConfig, log *slog.Logger) (ReplayResult, error) {
	if cfg.DeadLetterTopic == "" && cfg.Topic != "" && cfg.GroupID != "" {
		cfg.DeadLetterTopic = DefaultDeadLetterTopic(cfg.Topic, cfg.GroupID)
	}
	if cfg.Brokers == "" || cfg.GroupID == "" || cfg.Topic == "" {
		return ReplayResult{}, errors.New("replay: Brokers, GroupID and Topic are required")
	}
	if cfg.Limit < 0 {
		return ReplayResult{}, fmt.Errorf("replay: limit %d: want 0 (all) or more", cfg.Limit)
	}
	log = log.With(slog.String("dead_letter_topic", cfg.DeadLetterTopic), slog.String("topic", cfg.Topic),
		slog.String("replay_group", ReplayGroup(cfg.GroupID)))
	kc, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":        cfg.Brokers,
		"group.id":                 ReplayGroup(cfg.GroupID),
		"client.id":                ReplayGroup(cfg.GroupID),
		"enable.auto.commit":       false,
		"enable.auto.offset.store": false,
		"auto.offset.reset":        "earliest",
		"enable.partition.eof":     true,
		"log.connection.close":     false,
	})
	if err != nil {
		return ReplayResult{}, fmt.Errorf("replay: kafka consumer: %w", err)
	}
	defer kc.Close()

	pending, err := replayRange(kc, cfg.DeadLetterTopic)
	if err != nil {
		return ReplayResult{}, err
	}
	r := &replayer{cfg: cfg, log: log, kc: kc, pending: pending}
	for _, p := range pending {
		r.total += int64(p.end - p.start)
	}
	if r.total == 0 {
		log.InfoContext(ctx, "no dead letters to replay")
		return ReplayResult{}, nil
	}
	if !cfg.DryRun {
		if r.sourceParts, err = partitionCount(kc, cfg.Topic); err != nil {
			return ReplayResult{}, err
		}
		if r.producer, err = kafka.NewProducer(&kafka.ConfigMap{
			"bootstrap.servers":    cfg.Brokers,
			"client.id":            ReplayGroup(cfg.GroupID),
			"enable.idempotence":   true,
			"acks":                 "all",
			"message.timeout.ms":   deliveryTimeout,
			"log.connection.close": false,
		}); err != nil {
			return ReplayResult{}, fmt.Errorf("replay: kafka producer: %w", err)
		}
		defer r.producer.Close()
	}
	err = r.run(ctx)
	res := ReplayResult{Moved: r.moved, Left: r.total - int64(r.moved)}
	log.InfoContext(ctx, "dead letters replayed", slog.Bool("dry_run", cfg.DryRun),
		slog.Int("moved", res.Moved), slog.Int64("left", res.Left), slog.Any("error", err))
	return res, err
}

// span is the part of one dead-letter partition a replay moves:
// offsets start up to, not including, end.
type span struct {
	tp         kafka.TopicPartition
	start, end kafka.Offset
}

// replayRange returns, per partition of topic, the dead letters not yet
// replayed: from the replay group's committed offset (or the oldest one
// kept) to the end. A topic that does not exist has none.
func replayRange(kc *kafka.Consumer, topic string) (map[int32]*span, error) {
	md, err := kc.GetMetadata(&topic, false, int(kafkaTimeout.Milliseconds()))
	if err != nil {
		return nil, fmt.Errorf("replay: metadata of %s: %w", topic, err)
	}
	tm, ok := md.Topics[topic]
	if !ok || tm.Error.Code() == kafka.ErrUnknownTopicOrPart || tm.Error.Code() == kafka.ErrUnknownTopic {
		return nil, nil
	}
	if tm.Error.Code() != kafka.ErrNoError {
		return nil, fmt.Errorf("replay: metadata of %s: %w", topic, tm.Error)
	}
	parts := make([]kafka.TopicPartition, 0, len(tm.Partitions))
	for _, p := range tm.Partitions {
		parts = append(parts, kafka.TopicPartition{Topic: &topic, Partition: p.ID})
	}
	committed, err := kc.Committed(parts, int(kafkaTimeout.Milliseconds()))
	if err != nil {
		return nil, fmt.Errorf("replay: committed offsets on %s: %w", topic, err)
	}
	pending := map[int32]*span{}
	for _, c := range committed {
		low, high, err := kc.QueryWatermarkOffsets(topic, c.Partition, int(kafkaTimeout.Milliseconds()))
		if err != nil {
			return nil, fmt.Errorf("replay: offsets of %s/%d: %w", topic, c.Partition, err)
		}
		// Retention may have removed what was committed up to, or more.
		start := max(c.Offset, kafka.Offset(low))
		if start < kafka.Offset(high) {
			pending[c.Partition] = &span{tp: kafka.TopicPartition{Topic: &topic, Partition: c.Partition, Offset: start},
				start: start, end: kafka.Offset(high)}
		}
	}
	return pending, nil
}

func partitionCount(kc *kafka.Consumer, topic string) (int32, error) {
	md, err := kc.GetMetadata(&topic, false, int(kafkaTimeout.Milliseconds()))
	if err != nil {
		return 0, fmt.Errorf("replay: metadata of %s: %w", topic, err)
	}
	tm, ok := md.Topics[topic]
	if !ok || tm.Error.Code() != kafka.ErrNoError {
		return 0, fmt.Errorf("replay: source topic %s: %v", topic, tm.Error)
	}
	return int32(len(tm.Partitions)), nil
}

type replayer struct {
	cfg         ReplayConfig
	log         *slog.Logger
	kc          *kafka.Consumer
	producer    *kafka.Producer
	sourceParts int32
	pending     map[int32]*span
	total       int64
	moved       int
}

// run reads the pending dead letters in batches, re-publishes each batch
// and commits what the broker acknowledged.
func (r *replayer) run(ctx context.Context) error {
	assign := make([]kafka.TopicPartition, 0, len(r.pending))
	for _, p := range r.pending {
		assign = append(assign, p.tp)
	}
	if err := r.kc.Assign(assign); err != nil {
		return fmt.Errorf("replay: assign %s: %w", r.cfg.DeadLetterTopic, err)
	}
	for len(r.pending) > 0 && (r.cfg.Limit == 0 || r.moved < r.cfg.Limit) {
		want := replayBatch
		if r.cfg.Limit > 0 {
			want = min(want, r.cfg.Limit-r.moved)
		}
		batch, err := r.read(ctx, want)
		if err != nil {
			return err
		}
		if err := r.move(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

// read returns up to n dead letters, in partition order, ending early when
// every partition reached its end.
func (r *replayer) read(ctx context.Context, n int) ([]*kafka.Message, error) {
	var batch []*kafka.Message
	for len(batch) < n && len(r.pending) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		switch ev := r.kc.Poll(100).(type) {
		case *kafka.Message:
			p := r.pending[ev.TopicPartition.Partition]
			if p == nil || ev.TopicPartition.Offset >= p.end {
				continue // arrived after the replay started
			}
			batch = append(batch, ev)
			if ev.TopicPartition.Offset+1 >= p.end {
				r.done(p)
			}
		case kafka.PartitionEOF:
			if p := r.pending[ev.Partition]; p != nil && ev.Offset >= p.end {
				r.done(p)
			}
		case kafka.Error:
			if ev.IsFatal() {
				return nil, fmt.Errorf("replay: kafka consumer: %w", ev)
			}
			r.log.WarnContext(ctx, "kafka consumer error", slog.Any("error", ev))
		}
	}
	return batch, nil
}

// done stops fetching p, which reached its end.
func (r *replayer) done(p *span) {
	delete(r.pending, p.tp.Partition)
	_ = r.kc.Pause([]kafka.TopicPartition{{Topic: p.tp.Topic, Partition: p.tp.Partition}})
}

// position is a dead letter's place in its topic.
type position struct {
	partition int32
	offset    kafka.Offset
}

// move re-publishes batch, waits for every delivery report, and commits, per
// dead-letter partition, the offsets up to the first message that was not
// delivered; it returns an error when one was not.
func (r *replayer) move(ctx context.Context, batch []*kafka.Message) error {
	if r.cfg.DryRun {
		for _, m := range batch {
			r.log.InfoContext(ctx, "would replay dead letter",
				slog.Int("partition", int(m.TopicPartition.Partition)), slog.Int64("offset", int64(m.TopicPartition.Offset)),
				slog.String("key", string(m.Key)), slog.String("reason", headerValue(m.Headers, HeaderReason)),
				slog.String("attempts", headerValue(m.Headers, HeaderAttempts)), slog.String("error", headerValue(m.Headers, HeaderError)))
		}
		r.moved += len(batch)
		return nil
	}
	reports := make(chan kafka.Event, len(batch))
	sent := 0
	var produceErr error
	for _, m := range batch {
		if err := r.producer.Produce(r.replayed(m), reports); err != nil {
			produceErr = fmt.Errorf("replay: produce to %s: %w", r.cfg.Topic, err)
			break
		}
		sent++
	}
	// Collect every report, matched to its dead letter by the opaque.
	delivered := map[position]bool{}
	var deliveryErr error
	for range sent {
		m, ok := (<-reports).(*kafka.Message)
		if !ok {
			continue
		}
		src, _ := m.Opaque.(position)
		if m.TopicPartition.Error != nil {
			deliveryErr = errors.Join(deliveryErr, m.TopicPartition.Error)
			continue
		}
		delivered[src] = true
	}
	// Commit, per partition, the longest run of delivered messages.
	next := map[int32]kafka.Offset{}
	stopped := map[int32]bool{}
	moved := 0
	for _, m := range batch {
		p := m.TopicPartition.Partition
		if stopped[p] {
			continue
		}
		if !delivered[position{p, m.TopicPartition.Offset}] {
			stopped[p] = true
			continue
		}
		next[p] = m.TopicPartition.Offset + 1
		moved++
	}
	if len(next) > 0 {
		offsets := make([]kafka.TopicPartition, 0, len(next))
		for p, o := range next {
			offsets = append(offsets, kafka.TopicPartition{Topic: &r.cfg.DeadLetterTopic, Partition: p, Offset: o})
		}
		if _, err := r.kc.CommitOffsets(offsets); err != nil {
			// Re-published but not committed: the next replay re-publishes
			// them again, which the idempotent handlers absorb.
			return fmt.Errorf("replay: commit %s offsets (%d messages re-published, to be re-published again by the next replay): %w",
				r.cfg.DeadLetterTopic, moved, err)
		}
	}
	r.moved += moved
	if err := errors.Join(produceErr, deliveryErr); err != nil {
		return fmt.Errorf("replay: %d of %d messages not delivered to %s, left on the dead-letter topic: %w",
			len(batch)-moved, len(batch), r.cfg.Topic, err)
	}
	return nil
}

// replayed is dead letter m as it goes back to the source topic.
func (r *replayer) replayed(m *kafka.Message) *kafka.Message {
	replays, _ := strconv.Atoi(headerValue(m.Headers, HeaderReplays))
	headers := make([]kafka.Header, 0, len(m.Headers))
	for _, h := range m.Headers {
		if !strings.HasPrefix(h.Key, "dlq.") {
			headers = append(headers, h)
		}
	}
	headers = append(headers, kafka.Header{Key: HeaderReplays, Value: []byte(strconv.Itoa(replays + 1))})
	partition := kafka.PartitionAny
	if p, err := strconv.ParseInt(headerValue(m.Headers, HeaderOriginalPartition), 10, 32); err == nil && p >= 0 && int32(p) < r.sourceParts {
		partition = int32(p)
	}
	return &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &r.cfg.Topic, Partition: partition},
		Key:            m.Key,
		Value:          m.Value,
		Headers:        headers,
		Opaque:         position{m.TopicPartition.Partition, m.TopicPartition.Offset},
	}
}

// headerValue returns the last value of header key, or "".
func headerValue(headers []kafka.Header, key string) string {
	v := ""
	for _, h := range headers {
		if h.Key == key {
			v = string(h.Value)
		}
	}
	return v
}
