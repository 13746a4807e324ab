-- welcome_mails: one row per user whose welcome e-mail was attempted. The
-- row is claimed (and locked) before the mail is handed to SMTP and marked
-- sent in the same transaction after the server accepted it, so a
-- redelivered event, or a second event for the same user, sends nothing.
CREATE TABLE welcome_mails (
	user_id    uuid PRIMARY KEY,
	-- the event that made the latest attempt
	event_id   uuid NOT NULL,
	email      text NOT NULL,
	status     text NOT NULL CHECK (status IN ('sending', 'sent')),
	-- the Message-ID header, without angle brackets
	message_id text NOT NULL,
	-- attempts handed to SMTP, failed ones included
	attempts   integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	-- why the latest attempt failed; cleared when one succeeds
	last_error text,
	created_at timestamptz NOT NULL DEFAULT now(),
	sent_at    timestamptz,
	CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
