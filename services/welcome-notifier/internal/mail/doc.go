// Package mail is what the notifier's e-mails are, apart from how they
// travel: a Message and its RFC 5322 form. It does no I/O; package smtp
// delivers messages.
//
// Compose writes a Message as RFC 5322 text with MIME headers (UTF-8 body
// in quoted-printable, RFC 2047 encoded-words in headers), so any name or
// subject survives any relay.
package mail
