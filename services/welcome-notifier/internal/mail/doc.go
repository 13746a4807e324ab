// Package mail is what the notifier's e-mails are, apart from how they
// travel: it does no I/O, and package smtp delivers what it builds.
//
// Each Kind of mail (Welcome, VerifyEmail, PasswordReset, PasswordChanged)
// has a body template embedded from templates/<kind>.txt.tmpl and a
// subject. A Composer turns a kind's template and a Recipient into a
// Message with a Message-ID derived from the kind and its key (the user of
// a welcome, the event of an account mail), the same on every attempt.
// No template sees text a user typed (see Data). Message.Bytes writes a Message as
// RFC 5322 text with MIME headers (UTF-8 body in quoted-printable,
// RFC 2047 encoded-words in headers), so any name or subject survives any
// relay.
package mail
