-- account_mails: one row per account event (verification requested, reset
-- requested, password changed) whose mail was attempted. Every such event
-- deserves its own mail (a user asking twice for a link gets two), so the
-- key is the event id, where welcome_mails keys by user. The protocol is
-- welcome_mails': claim and lock the row, send, mark it sent, commit.
CREATE TABLE account_mails (
	event_id   uuid PRIMARY KEY,
	-- the mail's kind: verify-email, password-reset, password-changed
	kind       text NOT NULL CHECK (kind ~ '^[a-z][a-z-]{0,62}$'),
	user_id    uuid NOT NULL,
	email      text NOT NULL,
	status     text NOT NULL CHECK (status IN ('sending', 'sent')),
	-- the Message-ID header, without angle brackets
	message_id text NOT NULL,
	attempts   integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	last_error text,
	created_at timestamptz NOT NULL DEFAULT now(),
	sent_at    timestamptz,
	CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);

-- For operators: a user's account mails, newest first.
CREATE INDEX account_mails_user ON account_mails (user_id, created_at DESC);
