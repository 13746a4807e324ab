package consumer

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultMaxAttempts    = 8
	DefaultInitialBackoff = 200 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultHandlerTimeout = 30 * time.Second
	DefaultLagInterval    = 10 * time.Second
	DefaultCommitInterval = time.Second
	DefaultSessionTimeout = 10 * time.Second
)

// Config says what a Consumer reads, where it dead-letters and how hard it
// retries. Brokers, GroupID, Topic and SchemaRegistryURL are required; New
// fills the other zero fields with the defaults.
type Config struct {
	// Brokers is the comma-separated bootstrap server list.
	Brokers string
	// GroupID is the consumer group; members of one group share the
	// partitions and the committed offsets.
	GroupID string
	// Topic is the topic consumed.
	Topic string
	// SchemaRegistryURL is the Confluent-compatible Schema Registry API the
	// values' writer schemas are fetched from.
	SchemaRegistryURL string
	// DeadLetterTopic receives messages that cannot be processed; default
	// DefaultDeadLetterTopic(Topic, GroupID), that is "<topic>.<group>.dlq".
	DeadLetterTopic string
	// MaxAttempts is how many unclassified failures (neither transient nor
	// permanent, see the package documentation) one message may have
	// before it is dead-lettered (default 8). Transient failures do not
	// count: they are retried until the dependency is back.
	MaxAttempts int
	// InitialBackoff is the delay after the first failed attempt; each later
	// delay doubles, up to MaxBackoff, which is also how long a recovered
	// dependency may wait at most before its first retry. Each delay is
	// jittered down by up to half (defaults 200ms and 30s).
	InitialBackoff, MaxBackoff time.Duration
	// HandlerTimeout bounds one handler call; a call that runs out of time
	// fails with its ctx's error and is retried like any failure
	// (default 30s). It keeps a hung SMTP or database call from blocking
	// the partition forever.
	HandlerTimeout time.Duration
	// Observer is told what happens to each message, for metrics; default
	// none.
	Observer Observer
	// CommitInterval is how often the offsets of handled messages are
	// committed (default 1s); they are also committed when partitions are
	// revoked and on shutdown. A crash redelivers at most what was handled
	// since the last commit.
	CommitInterval time.Duration
	// LagInterval is how often the partitions' lag is measured and given
	// to Observer.Lag (default 10s).
	LagInterval time.Duration
	// SessionTimeout is how long the group waits for a member that stopped
	// heartbeating (it crashed, or its machine died) before it hands that
	// member's partitions to the others (session.timeout.ms; default 10s,
	// at least the broker's group.min.session.timeout.ms, 6s by default).
	// The client's own default, 45s, would leave a dead instance's
	// partitions unconsumed that long; a member that leaves cleanly gives
	// them up at once either way.
	SessionTimeout time.Duration

	// pollLimit, when set (by tests), replaces maxPollInterval's value, so
	// that a test can outlast it.
	pollLimit time.Duration
}

// DefaultDeadLetterTopic returns the dead-letter topic used when
// Config.DeadLetterTopic is empty: "<topic>.<group>.dlq".
func DefaultDeadLetterTopic(topic, group string) string {
	return topic + "." + group + ".dlq"
}

// legalTopic matches what Kafka accepts as a topic name.
var legalTopic = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

func (c Config) withDefaults() Config {
	if c.DeadLetterTopic == "" && c.Topic != "" && c.GroupID != "" {
		c.DeadLetterTopic = DefaultDeadLetterTopic(c.Topic, c.GroupID)
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.InitialBackoff == 0 {
		c.InitialBackoff = DefaultInitialBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.InitialBackoff)
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = DefaultHandlerTimeout
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = DefaultCommitInterval
	}
	if c.Observer == nil {
		c.Observer = NopObserver{}
	}
	if c.LagInterval == 0 {
		c.LagInterval = DefaultLagInterval
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	for _, f := range []struct{ name, value string }{
		{"Brokers", c.Brokers}, {"GroupID", c.GroupID}, {"Topic", c.Topic}, {"SchemaRegistryURL", c.SchemaRegistryURL},
	} {
		if f.value == "" {
			errs = append(errs, fmt.Errorf("%s is required", f.name))
		}
	}
	if c.DeadLetterTopic != "" && !legalTopic.MatchString(c.DeadLetterTopic) {
		errs = append(errs, fmt.Errorf("dead-letter topic %q is not a legal topic name: set DeadLetterTopic", c.DeadLetterTopic))
	}
	if c.DeadLetterTopic != "" && c.DeadLetterTopic == c.Topic {
		errs = append(errs, errors.New("dead-letter topic must differ from the consumed topic"))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("MaxAttempts %d: want at least 1", c.MaxAttempts))
	}
	if c.InitialBackoff < 0 || c.MaxBackoff < c.InitialBackoff {
		errs = append(errs, fmt.Errorf("backoff %v..%v: want 0 < InitialBackoff <= MaxBackoff", c.InitialBackoff, c.MaxBackoff))
	}
	if c.HandlerTimeout < 0 {
		errs = append(errs, fmt.Errorf("HandlerTimeout %v: want positive", c.HandlerTimeout))
	}
	if c.LagInterval < 0 {
		errs = append(errs, fmt.Errorf("LagInterval %v: want positive", c.LagInterval))
	}
	if c.SessionTimeout < 0 {
		errs = append(errs, fmt.Errorf("SessionTimeout %v: want positive", c.SessionTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("consumer config: %w", err)
	}
	return nil
}

// maxPollInterval is how long the consumer may go without polling before
// the group evicts it. The consumer polls while it waits between attempts
// (see wait), so what falls between two polls is one handler call, bounded
// by HandlerTimeout, and one dead-letter write, bounded by the producer's
// delivery timeout: the handler timeout plus two minutes, never below
// Kafka's 5 minute default, never above the client's 24 hour limit.
func (c Config) maxPollInterval() time.Duration {
	if c.pollLimit > 0 {
		return c.pollLimit
	}
	return min(max(c.HandlerTimeout+2*time.Minute, 5*time.Minute), 24*time.Hour)
}
