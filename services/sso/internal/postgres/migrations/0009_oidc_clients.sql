-- Applications that sign their users in through sso's OpenID Connect
-- provider. secret_hash is the hex SHA-256 of a confidential client's
-- secret (empty for a public client): the secret is 32 random bytes, so a
-- slow hash would add nothing against guessing and cost every token call.
CREATE TABLE oidc_clients (
    id                        text PRIMARY KEY,
    name                      text NOT NULL,
    confidential              boolean NOT NULL,
    secret_hash               text NOT NULL DEFAULT '',
    redirect_uris             text[] NOT NULL,
    post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
    scopes                    text[] NOT NULL,
    first_party               boolean NOT NULL DEFAULT false,
    created_at                timestamptz NOT NULL DEFAULT now()
);

-- A user's remembered consent to a third-party client: the scopes granted.
-- Deleting the client forgets it, and so does deleting the account (through
-- user_ids, which follows users).
CREATE TABLE oidc_consents (
    user_id    uuid NOT NULL REFERENCES user_ids (id) ON DELETE CASCADE,
    client_id  text NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    scopes     text[] NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, client_id)
);
