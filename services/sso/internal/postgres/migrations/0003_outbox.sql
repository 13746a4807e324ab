-- outbox holds the events written in the same transaction as the change
-- they announce (the transactional outbox). A relay hands each row to Kafka
-- after commit and records the delivery report in status; a sweeper
-- re-publishes rows left failed or in progress.
CREATE TABLE outbox (
    id              uuid PRIMARY KEY,         -- the event id consumers deduplicate on
    aggregate_id    uuid NOT NULL,            -- the user the event is about
    event_type      text NOT NULL,            -- e.g. UserRegistered
    topic           text NOT NULL,
    msg_key         text NOT NULL,
    payload         bytea NOT NULL,           -- the marshalled protobuf, not yet registry-framed
    trace_context   jsonb NOT NULL DEFAULT '{}', -- W3C traceparent/tracestate of the request
    status          text NOT NULL DEFAULT 'inProgress'
        CONSTRAINT outbox_status_check CHECK (status IN ('inProgress', 'successful', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz
);

-- The sweeper's work list: rows not yet delivered, oldest first. Delivered
-- rows, the vast majority, stay out of the index.
CREATE INDEX outbox_pending_idx ON outbox (status, updated_at) WHERE status <> 'successful';

-- A user's events, for the registration status shown with the user.
CREATE INDEX outbox_aggregate_id_idx ON outbox (aggregate_id);
