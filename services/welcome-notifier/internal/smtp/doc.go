// Package smtp is the notifier's mail adapter: a Sender hands a
// mail.Message to an SMTP server, one session per message, with net/smtp:
// plain, STARTTLS or implicit TLS, optional AUTH PLAIN, every step bounded
// by the configured timeout and by the caller's context.
//
// # Errors
//
// Send returns an *Error naming the step that failed and, when the server
// answered, its reply code. Error.Permanent tells a message that can never
// be delivered (a 5xx reply to the recipient or to the message itself, or
// a message that cannot be composed) from a failure worth retrying (network
// trouble, 4xx replies, and 5xx replies to our own sender address or
// credentials, which are configuration faults that resending after a fix
// cures). Error.Transient reports the latter: the consumer then waits for
// the server, however long, instead of dead-lettering the message.
//
// # Delivery guarantees
//
// SMTP has no transactions: once the server has accepted the message data,
// the message is on its way, whatever happens to the connection after.
// Send returns nil exactly when the server accepted the data; an error
// before that means the server did not take the message, except when the
// connection broke while waiting for the reply to the data, in which case
// the server may have accepted it. Callers that retry should therefore use
// a stable Message-ID, so that a duplicate can be recognised downstream.
package smtp
