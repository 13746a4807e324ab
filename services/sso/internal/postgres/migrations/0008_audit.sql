-- The audit log: what sso's audit topic carried, one row per event id
-- (a redelivered event is stored once). Ids only, never an e-mail address
-- or a name: the rows outlive the accounts they name (README "Audit log").
CREATE TABLE audit_events (
    event_id       uuid PRIMARY KEY,
    occurred_at    timestamptz NOT NULL,
    actor_user_id  uuid,                     -- NULL for an anonymous or system actor
    actor_kind     text NOT NULL,
    action         text NOT NULL,
    target_user_id uuid,                     -- NULL when no account is known
    client_address text NOT NULL DEFAULT '',
    trace_id       text NOT NULL DEFAULT '',
    outcome        text NOT NULL,
    ingested_at    timestamptz NOT NULL DEFAULT now()
);

-- The listing is newest first by (occurred_at, event_id), filtered by a
-- user (target or actor), an actor or an action: each filter reads its own
-- index in that order, a user's filter two of them (an OR of two index
-- scans), so a page costs its rows, not the log.
CREATE INDEX audit_events_time_idx ON audit_events (occurred_at DESC, event_id DESC);
CREATE INDEX audit_events_target_idx ON audit_events (target_user_id, occurred_at DESC, event_id DESC)
    WHERE target_user_id IS NOT NULL;
CREATE INDEX audit_events_actor_idx ON audit_events (actor_user_id, occurred_at DESC, event_id DESC)
    WHERE actor_user_id IS NOT NULL;
CREATE INDEX audit_events_action_idx ON audit_events (action, occurred_at DESC, event_id DESC);
