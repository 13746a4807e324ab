package mail

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
)

// Recipient is the user a mail is for.
type Recipient struct {
	// UserID keys the Message-ID: one id per user and kind.
	UserID string
	// Email is a bare address.
	Email string
	// FullName is the name as registered, possibly empty; Compose cleans
	// it before it reaches a header or the body.
	FullName string
}

// Composer writes the mails of one kind from one sender.
type Composer struct {
	kind    Kind
	from    mail.Address
	domain  string
	subject string
	body    *Template
}

// NewComposer returns a Composer of kind's mails from from, under subject;
// a nil body means kind's built-in template. The sender's domain also
// names the Message-IDs.
func NewComposer(kind Kind, from mail.Address, subject string, body *Template) (*Composer, error) {
	_, domain, ok := strings.Cut(from.Address, "@")
	if !ok || domain == "" {
		return nil, fmt.Errorf("mail: sender %q has no domain", from.Address)
	}
	if subject == "" {
		return nil, errors.New("mail: empty subject")
	}
	if body == nil {
		body = kind.Template()
	}
	return &Composer{kind: kind, from: from, domain: domain, subject: subject, body: body}, nil
}

// MessageID returns the Message-ID of the mail for userID.
func (c *Composer) MessageID(userID string) string { return c.kind.MessageID(userID, c.domain) }

// Compose renders the mail for to, dated date. data carries the kind's own
// fields; Compose fills in the recipient's. An error means the template
// cannot render this recipient, however often it is tried.
func (c *Composer) Compose(to Recipient, data Data, date time.Time) (Message, error) {
	fullName := cleanName(to.FullName)
	data.Name = greetingName(fullName, to.Email)
	data.FullName = fullName
	data.Email = to.Email
	data.UserID = to.UserID
	body, err := c.body.Render(data)
	if err != nil {
		return Message{}, err
	}
	return Message{
		From:      c.from,
		To:        mail.Address{Name: fullName, Address: to.Email},
		Subject:   c.subject,
		Body:      body,
		MessageID: c.MessageID(to.UserID),
		Date:      date,
	}, nil
}

// cleanName is a full name fit for a greeting and a To header: control
// characters (a line break) become spaces, and runs of white space one.
func cleanName(fullName string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, fullName)), " ")
}

// greetingName is how the mail addresses the user: the cleaned full name,
// or, when there is none, the local part of the address ("ada" for
// ada@example.test).
func greetingName(fullName, email string) string {
	if fullName != "" {
		return fullName
	}
	local, _, _ := strings.Cut(email, "@")
	return local
}
