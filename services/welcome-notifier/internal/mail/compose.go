package mail

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Recipient is the user a mail is for.
type Recipient struct {
	UserID string
	// Email is a bare address. The To header carries it without a display
	// name: a name would be text the registrant chose.
	Email string
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

// Kind is the kind of mail c writes.
func (c *Composer) Kind() Kind { return c.kind }

// MessageID returns the Message-ID of the mail keyed by key: the user id of
// a welcome, the event id of an account mail (see Kind.MessageID).
func (c *Composer) MessageID(key string) string { return c.kind.MessageID(key, c.domain) }

// Compose renders the mail keyed by key (see MessageID) for to, dated
// date. data carries the kind's own fields; Compose fills in the
// recipient's. An error means the template cannot render this recipient,
// however often it is tried.
func (c *Composer) Compose(key string, to Recipient, data Data, date time.Time) (Message, error) {
	data.Email = to.Email
	data.UserID = to.UserID
	body, err := c.body.Render(data)
	if err != nil {
		return Message{}, err
	}
	return Message{
		From:      c.from,
		To:        mail.Address{Address: to.Email},
		Subject:   c.subject,
		Body:      body,
		MessageID: c.MessageID(key),
		Date:      date,
	}, nil
}
