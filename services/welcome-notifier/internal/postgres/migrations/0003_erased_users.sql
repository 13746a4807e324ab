-- erased_users: the users whose account was deleted (a UserDeleted event).
-- Their rows in welcome_mails and account_mails keep the ids and status that
-- exactly-once needs, with the address and the last error (an SMTP answer
-- may quote the address) blanked; this row makes every later event of the
-- user (one written before the deletion and delivered after it) send
-- nothing and record no address. A user id alone names no person.
CREATE TABLE erased_users (
	user_id   uuid PRIMARY KEY,
	-- the UserDeleted event that erased the user
	event_id  uuid NOT NULL,
	erased_at timestamptz NOT NULL DEFAULT now()
);
