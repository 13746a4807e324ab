// Package welcome is the notifier's use cases: turn a registration into one
// welcome e-mail per user, and an account event into one mail per event.
//
// Service.Welcome validates the registration (one without a valid user id
// or e-mail can never be mailed), composes the mail (without the user's
// name: it is text the registrant chose, and anyone can register someone
// else's address), and sends through a Ledger that guarantees one mail per
// user: a redelivered event, or a second event for the same user id, finds
// the mail recorded as sent and sends nothing. AccountService.Send does the
// same for the verification, reset and password-changed mails, keyed by
// event: a redelivery sends nothing, a second request is a second mail. Its
// links carry the one-time token, URL-escaped, under a configured base;
// the token appears nowhere else. The Ledger and the Sender are ports,
// declared here and implemented by packages postgres and smtp; package
// events calls the use cases for each UserRegistered and AccountEvent.
//
// # What "exactly one" means here
//
// The Ledger records the mail as sent only after the mail server accepted
// it, in the same database transaction that claimed the user, so two
// deliveries of one event never send concurrently and a recorded mail is
// never sent again. SMTP has no transactions, though: if the process dies,
// or the database fails, after the server accepted the message and before
// the record commits, the event is handled again and the mail is sent a
// second time. That window is the width of one commit; the resent mail
// carries the same Message-ID (derived from the user id, see
// mail.Kind.MessageID), so mail systems that drop duplicate Message-IDs,
// and any reader, can tell it is the same message. It is at-least-once
// with a deterministic identity, which is the most SMTP allows.
//
// # Errors
//
// Welcome returns an error wrapping ErrInvalidEvent or ErrUndeliverable
// when retrying cannot help: a malformed registration, a template that
// cannot render it, a recipient the mail server rejects for good (the
// Sender's error has a Permanent method that reports true). It returns one
// wrapping ErrUnavailable when the mail server or the ledger's database
// cannot be reached or is busy (a refused connection, a timeout, a 4xx
// reply): the registration is fine and waiting will do. Any other error is
// worth a few retries.
package welcome
