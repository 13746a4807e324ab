package outbox

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Claim runs one sweeper claim of up to n rows and returns their ids and
// the attempts each now has, without publishing them.
func (r *Relay) Claim(ctx context.Context, n int) (ids []string, attempts []int, err error) {
	events, err := r.claim(ctx, n)
	for _, e := range events {
		ids = append(ids, e.id)
		attempts = append(attempts, e.claimed)
	}
	return ids, attempts, err
}

// MarkFailed records a failed publish of row id by a publisher that took
// it with the attempts value claimed, as a delivery report does.
func (r *Relay) MarkFailed(ctx context.Context, id string, claimed int, lastError string) error {
	attempt := max(claimed, 1)
	return r.markFailed(ctx, event{id: id, claimed: claimed}, attempt, lastError, r.cfg.backoff(attempt))
}

// MarkSuccessful records deliveries, as a delivery report does.
func (r *Relay) MarkSuccessful(ctx context.Context, ids ...string) error {
	return r.markSuccessful(ctx, ids)
}

// Backoff is the wait cfg prescribes after the attempt-th failure.
func Backoff(cfg Config, attempt int) time.Duration { return cfg.withDefaults().backoff(attempt) }

// Defaults is cfg with its zero fields defaulted.
func Defaults(cfg Config) Config { return cfg.withDefaults() }

// ClaimDue is the sweeper's claim statement, for the test that EXPLAINs it.
const ClaimDue = claimDue

// SetClock makes b read the time from now, so a test moves it past maxAge
// instead of waiting.
func (b *Backlog) SetClock(now func() time.Time) { b.now = now }

// Decodes reports whether the relay knows the message of eventType.
func Decodes(eventType string) bool { _, ok := eventTypes[eventType]; return ok }

// PublishFailures is the failure counter of eventType.
func (m *Metrics) PublishFailures(eventType string) prometheus.Counter {
	return m.byType.WithLabelValues(eventType)
}
