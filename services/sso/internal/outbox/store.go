package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// The relay's statements on the outbox table. Durations travel as
// microseconds, PostgreSQL's resolution.
const (
	// claimDue takes a batch of up to $2 rows to publish: first inProgress
	// rows untouched for longer than $1 µs, then failed rows whose
	// next_attempt_at has passed, each kind in the order it fell due, read
	// in that order from its partial index (outbox_pending_idx,
	// outbox_retry_due_idx) so a claim costs the rows it takes, not the
	// backlog. SKIP LOCKED lets concurrent sweepers take disjoint batches
	// without waiting on each other: a row another has locked is skipped,
	// and one it has just claimed fails the re-check of the WHERE clause
	// (its updated_at is fresh). MATERIALIZED makes each locking SELECT run
	// exactly once; = ANY(ARRAY(...)) has the UPDATE fetch the claimed rows
	// by primary key, however large the table.
	claimDue = `WITH stale AS MATERIALIZED (
		SELECT id FROM outbox
		WHERE status = 'inProgress' AND updated_at < now() - $1 * interval '1 microsecond'
		ORDER BY updated_at
		LIMIT $2
		FOR UPDATE SKIP LOCKED
	), retry AS MATERIALIZED (
		SELECT id FROM outbox
		WHERE status = 'failed' AND COALESCE(next_attempt_at, '-infinity'::timestamptz) <= now()
		ORDER BY COALESCE(next_attempt_at, '-infinity'::timestamptz)
		LIMIT $2 - (SELECT count(*) FROM stale)
		FOR UPDATE SKIP LOCKED
	)
	UPDATE outbox o
	SET status = 'inProgress', updated_at = now(), attempts = o.attempts + 1
	WHERE o.id = ANY(ARRAY(SELECT id FROM stale UNION ALL SELECT id FROM retry))
	RETURNING o.id, o.event_type, o.topic, o.msg_key, o.payload, o.trace_context, o.attempts`

	// markSuccessful records deliveries; a row is successful whoever
	// published it, and stays so.
	markSuccessful = `UPDATE outbox
	SET status = 'successful', updated_at = now(), attempts = GREATEST(attempts, 1),
		last_error = NULL, next_attempt_at = NULL
	WHERE id = ANY($1::uuid[]) AND status <> 'successful'`

	// markFailed records a failed attempt, only while the row is still the
	// publisher's: inProgress with the attempts value it was published
	// with ($2). A row delivered meanwhile, or claimed again by a sweeper,
	// is left alone.
	markFailed = `UPDATE outbox
	SET status = 'failed', updated_at = now(), attempts = $3, last_error = $4,
		next_attempt_at = now() + $5 * interval '1 microsecond'
	WHERE id = $1 AND status = 'inProgress' AND attempts = $2`
)

// claimedRow is a row of claimDue.
type claimedRow struct {
	ID           string `db:"id"`
	EventType    string `db:"event_type"`
	Topic        string `db:"topic"`
	Key          string `db:"msg_key"`
	Payload      []byte `db:"payload"`
	TraceContext []byte `db:"trace_context"`
	Attempts     int    `db:"attempts"`
}

// claim marks up to n due rows inProgress for this relay and returns them.
func (r *Relay) claim(ctx context.Context, n int) ([]event, error) {
	var rows []claimedRow
	if err := r.db.SelectContext(ctx, &rows, claimDue, r.cfg.StaleAfter.Microseconds(), n); err != nil {
		return nil, fmt.Errorf("outbox: claim rows: %w", err)
	}
	events := make([]event, len(rows))
	for i, row := range rows {
		var tc map[string]string
		// A malformed trace context costs the trace, never the event.
		_ = json.Unmarshal(row.TraceContext, &tc)
		events[i] = event{
			id:        row.ID,
			eventType: row.EventType,
			topic:     row.Topic,
			key:       row.Key,
			payload:   row.Payload,
			trace:     tc,
			claimed:   row.Attempts,
		}
	}
	return events, nil
}

func (r *Relay) markSuccessful(ctx context.Context, ids []string) error {
	if _, err := r.db.ExecContext(ctx, markSuccessful, pq.Array(ids)); err != nil {
		return fmt.Errorf("outbox: mark successful: %w", err)
	}
	return nil
}

func (r *Relay) markFailed(ctx context.Context, e event, attempt int, lastError string, backoff time.Duration) error {
	if _, err := r.db.ExecContext(ctx, markFailed, e.id, e.claimed, attempt, lastError, backoff.Microseconds()); err != nil {
		return fmt.Errorf("outbox: mark failed: %w", err)
	}
	return nil
}
