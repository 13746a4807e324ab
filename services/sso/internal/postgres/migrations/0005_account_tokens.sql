-- Whether and when a user proved their e-mail address by a verification
-- link. Existing accounts start unverified: nothing proved their address.
ALTER TABLE users
    ADD COLUMN email_verified    boolean NOT NULL DEFAULT false,
    ADD COLUMN email_verified_at timestamptz;

-- one_time_tokens holds the mailed one-time tokens (e-mail verification,
-- password reset) by their SHA-256 only: reading the table does not give a
-- usable token. A token works once (used_at set in the statement that
-- consumes it) and before expires_at; issuing a new one of a purpose sets
-- used_at on the user's unused ones of that purpose, so only the newest
-- mailed link works.
CREATE TABLE one_time_tokens (
    hash       bytea PRIMARY KEY,
    user_id    uuid NOT NULL,
    purpose    text NOT NULL
        CONSTRAINT one_time_tokens_purpose_check CHECK (purpose IN ('email-verification', 'password-reset')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

-- A user's unused tokens of a purpose, which issuing a new one supersedes.
CREATE INDEX one_time_tokens_user_idx ON one_time_tokens (user_id, purpose) WHERE used_at IS NULL;

-- Cleanup deletes rows past expires_at, oldest first.
CREATE INDEX one_time_tokens_expires_idx ON one_time_tokens (expires_at);
