package mail

import (
	"fmt"
	"os"
	"strings"
	"text/template"
	"time"
)

// Data is what a body template sees. Composer.Compose fills the
// recipient's fields; the others belong to particular kinds and are zero
// in the rest.
//
// Nothing in Data is free text a user typed: no name, no message. Anyone
// can register someone else's address, so whatever a mail quotes from the
// registration could be words an attacker makes us send in our name.
type Data struct {
	// Email is the recipient's address (the account's).
	Email  string
	UserID string
	// RegisteredAt is when the account was created (Welcome).
	RegisteredAt time.Time
	// Link is the one-time link of VerifyEmail and PasswordReset: it holds
	// a secret and must appear nowhere but in the body.
	Link string
	// ExpiresAt is when Link stops working.
	ExpiresAt time.Time
	// Method is how a password was changed (PasswordChanged): "reset",
	// "change", or "" when the event's method is unknown to this build.
	Method string
}

// Template renders the body of one kind of mail.
type Template struct {
	t *template.Template
}

// LoadTemplate reads a text/template from path; an empty path means kind's
// built-in one.
func LoadTemplate(kind Kind, path string) (*Template, error) {
	if path == "" {
		return kind.Template(), nil
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s template: %w", kind, err)
	}
	return ParseTemplate(string(text))
}

// ParseTemplate parses text as a text/template over Data and renders it
// once with sample data, so a template that names a missing field (the
// Name and FullName of earlier versions among them) fails at start rather
// than on every mail.
func ParseTemplate(text string) (*Template, error) {
	t, err := template.New("body").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("mail template: %w", err)
	}
	tmpl := &Template{t: t}
	if _, err := tmpl.Render(Data{
		Email: "ada@example.test", UserID: "00000000-0000-0000-0000-000000000000",
		RegisteredAt: time.Unix(0, 0).UTC(), Link: "http://127.0.0.1/account?token=sample",
		ExpiresAt: time.Unix(0, 0).UTC(), Method: "reset",
	}); err != nil {
		return nil, err
	}
	return tmpl, nil
}

// Render returns the body for d.
func (t *Template) Render(d Data) (string, error) {
	var b strings.Builder
	if err := t.t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("mail template: %w", err)
	}
	return b.String(), nil
}
