package consumer

import "time"

// WithPollLimit returns c with max.poll.interval.ms (and the session
// timeout) set to d, so that a test can wait longer than a member may go
// without polling.
func WithPollLimit(c Config, d time.Duration) Config {
	c.pollLimit = d
	return c
}
