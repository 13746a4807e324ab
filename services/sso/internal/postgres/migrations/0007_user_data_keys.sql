-- user_data_keys holds each user's data key, the AES-256 key that seals the
-- user's personal data in the events (crypto-shredding). The key is stored
-- sealed under the service's sealing key ring (ring_key_id names the ring
-- key; AAD binds it to the user id and version), so the table alone opens
-- nothing. Deleting the account deletes its rows in the deletion's
-- transaction: from that commit no event of the user, wherever a copy of it
-- sits, can be read any more.
CREATE TABLE user_data_keys (
    user_id     uuid NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    ring_key_id text NOT NULL,
    nonce       bytea NOT NULL,
    sealed_key  bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, version)
);
