package mail

import (
	"embed"
	"fmt"
	"strings"
)

// Kind is one kind of mail the notifier sends. Its body template is
// embedded from templates/<kind>.txt.tmpl, and its name prefixes the
// Message-IDs of its mails. A new kind is a constant here, its entry in
// Kinds and its template file.
type Kind string

// The kinds of mail.
const (
	// Welcome greets a newly registered user, once per user.
	Welcome Kind = "welcome"
)

// Kinds lists every Kind, so that a test holds each to a template that
// parses.
var Kinds = []Kind{Welcome}

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
// welcome) at domain, without angle brackets. It is the same for every
// attempt and every event asking for that mail, so a mail resent after a
// crash is recognisably the same message.
func (k Kind) MessageID(key, domain string) string {
	return string(k) + "." + strings.ToLower(key) + "@" + domain
}
