package consumer

import "time"

// Outcomes passed to Observer.Processed.
const (
	// OutcomeSuccess: the handler succeeded and the offset was stored for commit.
	OutcomeSuccess = "success"
	// OutcomeDeadLettered: the message was written to the dead-letter topic
	// and the offset was stored for commit.
	OutcomeDeadLettered = "dead_lettered"
	// OutcomeInterrupted: shutdown came while the message waited for a
	// retry (of the handler, the registry or the dead-letter write); its
	// offset was not committed and it will be redelivered.
	OutcomeInterrupted = "interrupted"
	// OutcomeRevoked: the message's partition was revoked (a rebalance)
	// while it waited for a retry; its offset was not committed and the
	// partition's new owner handles it.
	OutcomeRevoked = "revoked"
)

// Reasons passed to Observer.DeadLettered.
const (
	// ReasonPoison: the value could not be deserialized.
	ReasonPoison = "poison"
	// ReasonPermanent: the handler returned an error wrapping ErrPermanent.
	ReasonPermanent = "permanent"
	// ReasonExhausted: the handler failed MaxAttempts times with errors
	// that were not transient.
	ReasonExhausted = "exhausted"
)

// Observer is told what happens to messages, for metrics. Its methods are
// called from the consuming goroutine and must return quickly. All label
// values are low-cardinality constants of this package or the topic.
type Observer interface {
	// Processed is called once per message when the consumer is done with
	// it: outcome is OutcomeSuccess, OutcomeDeadLettered or
	// OutcomeInterrupted or OutcomeRevoked, d the time from receipt to
	// that outcome, retries included.
	Processed(topic, outcome string, d time.Duration)
	// Failed is called after each failed handler call (an error, a panic
	// or a timeout), before the consumer decides between a retry and the
	// dead-letter topic.
	Failed(topic string)
	// Retried is called before each retry of a failed handler call; kind
	// is KindTransient or KindUnclassified.
	Retried(topic, kind string)
	// Paused is called with true when a message starts waiting for a
	// dependency (a transient failure: the member's partitions are paused
	// until it succeeds), and with false when the member consumes again.
	Paused(topic string, paused bool)
	// DeadLettered is called when a message has been acknowledged by the
	// dead-letter topic; reason is ReasonPoison, ReasonPermanent or
	// ReasonExhausted.
	DeadLettered(topic, reason string)
	// Lag is called every Config.LagInterval while Run runs, from a
	// goroutine of its own, with the lag of each partition of topic
	// assigned to this member: the partition's high watermark minus the
	// group's committed offset (the messages not yet done, the one in
	// flight included). A partition missing from lag is no longer assigned
	// to this member; once Run stops, lag is empty. A partition whose
	// offsets cannot be read right now (the broker is unreachable) is
	// left out of that call's lag only when it has never been read;
	// otherwise its last known lag is reported again.
	Lag(topic string, lag map[int32]int64)
}

// NopObserver ignores everything. Embed it in an Observer to implement
// only some methods; methods added to Observer later get a no-op here too.
type NopObserver struct{}

func (NopObserver) Processed(string, string, time.Duration) {}
func (NopObserver) Failed(string)                           {}
func (NopObserver) Retried(string, string)                  {}
func (NopObserver) Paused(string, bool)                     {}
func (NopObserver) DeadLettered(string, string)             {}
func (NopObserver) Lag(string, map[int32]int64)             {}
