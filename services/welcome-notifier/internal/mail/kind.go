package mail

import (
	"embed"
	"fmt"
	"strings"
)

// Kind is one kind of mail the notifier sends. Its body template is
// embedded from templates/<kind>.txt.tmpl, and its name prefixes the
// Message-IDs of its mails. A new kind is a constant here, its entry in
// Kinds and subjects, and its template file.
type Kind string

// The kinds of mail.
const (
	// Welcome greets a newly registered user, once per user.
	Welcome Kind = "welcome"
	// VerifyEmail carries the link that proves the user receives mail at
	// the address, once per EmailVerificationRequested event.
	VerifyEmail Kind = "verify-email"
	// PasswordReset carries the link that sets a new password, once per
	// PasswordResetRequested event.
	PasswordReset Kind = "password-reset"
	// PasswordChanged tells the user their password changed, once per
	// PasswordChanged event.
	PasswordChanged Kind = "password-changed"
)

// Kinds lists every Kind, so that a test holds each to a template that
// parses.
var Kinds = []Kind{Welcome, VerifyEmail, PasswordReset, PasswordChanged}

// subjects are the built-in subject lines. The welcome's is configurable
// (NOTIFIER_MAIL_SUBJECT); the account mails' are fixed, so that every
// copy of a security notice reads the same.
var subjects = map[Kind]string{
	Welcome:         "Welcome to ssokit",
	VerifyEmail:     "Confirm your e-mail address for ssokit",
	PasswordReset:   "Reset your ssokit password",
	PasswordChanged: "Your ssokit password was changed",
}

// Subject returns k's built-in subject line.
func (k Kind) Subject() string { return subjects[k] }

// PerEvent reports whether k's mails are one per event (the account mails:
// every request for a link deserves its own mail) rather than one per user
// (the welcome, and the zero Kind, which stands for it).
func (k Kind) PerEvent() bool {
	switch k {
	case VerifyEmail, PasswordReset, PasswordChanged:
		return true
	}
	return false
}

//go:embed templates/*.txt.tmpl
var templates embed.FS

// Template returns k's built-in body template. It panics when k has no
// valid template file: TestKindsHaveTemplates turns that into a failing
// test rather than a failing start.
func (k Kind) Template() *Template {
	text, err := templates.ReadFile("templates/" + string(k) + ".txt.tmpl")
	if err != nil {
		panic(fmt.Sprintf("mail: no built-in template for %q: %v", k, err))
	}
	t, err := ParseTemplate(string(text))
	if err != nil {
		panic(fmt.Sprintf("mail: built-in template for %q: %v", k, err))
	}
	return t
}

// MessageID returns the Message-ID of k's mail for key (the user id of a
// welcome, the event id of an account mail) at domain, without angle
// brackets. It is the same for every attempt and every delivery of the
// event asking for that mail, so a mail resent after a crash is
// recognisably the same message.
func (k Kind) MessageID(key, domain string) string {
	return string(k) + "." + strings.ToLower(key) + "@" + domain
}
