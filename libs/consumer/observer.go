package consumer

import "time"

// Outcomes passed to Observer.Processed.
const (
	// OutcomeSuccess: the handler succeeded and the offset was committed.
	OutcomeSuccess = "success"
	// OutcomeDeadLettered: the message was written to the dead-letter topic
	// and the offset was committed.
	OutcomeDeadLettered = "dead_lettered"
	// OutcomeInterrupted: shutdown came while the message waited for a
	// retry (of the handler, the registry or the dead-letter write); its
	// offset was not committed and it will be redelivered.
	OutcomeInterrupted = "interrupted"
)

// Reasons passed to Observer.DeadLettered.
const (
	// ReasonPoison: the value could not be deserialized.
	ReasonPoison = "poison"
	// ReasonPermanent: the handler returned an error wrapping ErrPermanent.
	ReasonPermanent = "permanent"
	// ReasonExhausted: the handler failed MaxAttempts times.
	ReasonExhausted = "exhausted"
)

// Observer is told what happens to messages, for metrics. Its methods are
// called from the consuming goroutine and must return quickly. All label
// values are low-cardinality constants of this package or the topic.
type Observer interface {
	// Processed is called once per message when the consumer is done with
	// it: outcome is OutcomeSuccess, OutcomeDeadLettered or
	// OutcomeInterrupted, d the time from receipt to that outcome, retries
	// included.
	Processed(topic, outcome string, d time.Duration)
	// Retried is called before each retry of a failed handler call.
	Retried(topic string)
	// DeadLettered is called when a message has been acknowledged by the
	// dead-letter topic; reason is ReasonPoison, ReasonPermanent or
	// ReasonExhausted.
	DeadLettered(topic, reason string)
}

// NopObserver ignores everything. Embed it in an Observer to implement
// only some methods.
type NopObserver struct{}

func (NopObserver) Processed(string, string, time.Duration) {}
func (NopObserver) Retried(string)                          {}
func (NopObserver) DeadLettered(string, string)             {}
