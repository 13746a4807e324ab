// Package welcome is the notifier's use case: turn a UserRegistered event
// into one welcome e-mail per user.
//
// Service.Handle is the Kafka handler. It validates the event (an event
// without a valid user id or e-mail can never be mailed and is refused as
// permanent, so the consumer dead-letters it at once), renders the body
// template with the user's name, and sends through a Ledger that guarantees
// one mail per user: a redelivered event, or a second event for the same
// user id, finds the mail recorded as sent and sends nothing.
//
// # What "exactly one" means here
//
// The Ledger records the mail as sent only after the SMTP server accepted
// it, in the same database transaction that claimed the user, so two
// deliveries of one event never send concurrently and a recorded mail is
// never sent again. SMTP has no transactions, though: if the process dies,
// or the database fails, after the server accepted the message and before
// the record commits, the event is handled again and the mail is sent a
// second time. That window is the width of one commit; the resent mail
// carries the same Message-ID (derived from the user id, see MessageID),
// so mail systems that drop duplicate Message-IDs, and any reader, can tell
// it is the same message. It is at-least-once with a deterministic
// identity, which is the most SMTP allows.
//
// # Errors
//
// Handle returns an error wrapping consumer.ErrPermanent, and ErrInvalidEvent
// or ErrUndeliverable, when retrying cannot help: a malformed event, a
// template that cannot render it, a recipient the SMTP server rejects with
// a 5xx reply. Every other error (SMTP or database unreachable, a 4xx
// reply) is returned for the consumer to retry with backoff and, after its
// last attempt, dead-letter.
package welcome
