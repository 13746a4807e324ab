-- accounts holds one point account per user, opened by the user's welcome
-- bonus. The CHECK is the last line of defence for the rule that a balance
-- never goes below zero: the application refuses such withdrawals first.
CREATE TABLE accounts (
    user_id    uuid PRIMARY KEY,
    balance    bigint NOT NULL DEFAULT 0
        CONSTRAINT accounts_balance_check CHECK (balance >= 0),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- transactions is the append-only history of every balance change, written
-- in the same database transaction as the change. A welcome bonus records
-- the event that credited it; a deposit or withdrawal the caller's
-- idempotency key. created_at is the time the change was applied (taken
-- under the account's row lock, so it follows the order of application).
CREATE TABLE transactions (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES accounts (user_id),
    kind            text NOT NULL
        CONSTRAINT transactions_kind_check CHECK (kind IN ('WELCOME_BONUS', 'DEPOSIT', 'WITHDRAWAL')),
    amount          bigint NOT NULL
        CONSTRAINT transactions_amount_check CHECK (amount > 0),
    reason          text NOT NULL DEFAULT '',
    balance_after   bigint NOT NULL
        CONSTRAINT transactions_balance_after_check CHECK (balance_after >= 0),
    idempotency_key text,
    event_id        uuid,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- API operations are idempotent per account and key.
    CONSTRAINT transactions_idempotency_key UNIQUE (user_id, idempotency_key),
    -- A deposit or withdrawal has a key and no event; a bonus the reverse.
    CONSTRAINT transactions_origin_check CHECK (
        CASE kind WHEN 'WELCOME_BONUS' THEN idempotency_key IS NULL AND event_id IS NOT NULL
                  ELSE idempotency_key IS NOT NULL AND event_id IS NULL END)
);

-- Exactly one welcome bonus per user, whatever events arrive.
CREATE UNIQUE INDEX transactions_one_welcome_bonus ON transactions (user_id) WHERE kind = 'WELCOME_BONUS';

-- An account's history, newest first (keyset pagination).
CREATE INDEX transactions_history_idx ON transactions (user_id, created_at DESC, id DESC);
