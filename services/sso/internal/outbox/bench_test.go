package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/services/sso/internal/outbox"
)

// fill adds n rows with status to the outbox of db in one statement: the
// failed ones due, the inProgress ones stale, all created a while ago.
func fill(tb testing.TB, db *sqlx.DB, status string, n int) {
	tb.Helper()
	_, err := db.ExecContext(context.Background(), `INSERT INTO outbox
		(id, aggregate_id, event_type, topic, msg_key, payload, status, attempts, created_at, updated_at, next_attempt_at)
		SELECT gen_random_uuid(), gen_random_uuid(), 'UserRegistered', 'bench', 'key', '\x0a2435'::bytea, $1, 1,
			now() - interval '1 hour' + i * interval '1 millisecond', now() - interval '1 hour',
			CASE WHEN $1 = 'failed' THEN now() - interval '1 second' END
		FROM generate_series(1, $2) AS i`, status, n)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.ExecContext(context.Background(), "ANALYZE outbox"); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkClaim measures one sweeper claim of a batch: find the due rows
// through the partial indexes, lock them (SKIP LOCKED), mark them
// inProgress and return them, in one statement and its commit. The table
// holds 100k delivered rows, as a live outbox would, and a backlog of 20k
// failed rows due for a retry, as a Kafka outage leaves; when the backlog
// is used up it is reset (and vacuumed) outside the timer.
func BenchmarkClaim(b *testing.B) {
	db := testDB(b)
	fill(b, db, "successful", 100_000)
	const backlog = 20_000
	fill(b, db, "failed", backlog)
	relay := outbox.NewRelay(db, nil, nil, outbox.Config{StaleAfter: time.Hour}, quietLog())
	ctx := b.Context()
	reset := func() {
		b.StopTimer()
		defer b.StartTimer()
		if _, err := db.ExecContext(ctx, `UPDATE outbox SET status = 'failed', next_attempt_at = now() - interval '1 second'
			WHERE status = 'inProgress'`); err != nil {
			b.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "VACUUM ANALYZE outbox"); err != nil {
			b.Fatal(err)
		}
	}
	for _, batch := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			reset()
			claimed, left := 0, backlog
			for b.Loop() {
				if left < batch {
					reset()
					left = backlog
				}
				ids, _, err := relay.Claim(ctx, batch)
				if err != nil {
					b.Fatal(err)
				}
				if len(ids) != batch {
					b.Fatalf("claimed %d rows, want %d", len(ids), batch)
				}
				claimed += len(ids)
				left -= len(ids)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(claimed), "ns/row")
		})
	}
}
