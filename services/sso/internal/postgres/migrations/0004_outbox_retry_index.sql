-- The relay's sweeper claims, oldest first, in-progress rows left stale by
-- a crash (outbox_pending_idx, on (status, updated_at), serves those) and
-- failed rows whose backoff has run out. This index serves the latter in
-- the order they fall due, so a claim reads only the rows it takes, however
-- many a Kafka outage leaves backing off. A failed row without a
-- next_attempt_at (the relay always sets one) counts as due at once.
CREATE INDEX outbox_retry_due_idx ON outbox ((COALESCE(next_attempt_at, '-infinity'::timestamptz)))
    WHERE status = 'failed';
