package mail

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode"
)

// Message is one plain-text e-mail to one recipient.
type Message struct {
	From    mail.Address
	To      mail.Address
	Subject string
	// Body is the text; line endings may be \n or \r\n.
	Body string
	// MessageID is the Message-ID without angle brackets
	// ("id-left@id-right"). Keeping it stable across retries of one message
	// lets recipients' systems drop a duplicate.
	MessageID string
	// Date is the origination date; the zero value means now.
	Date time.Time
}

// ErrInvalidMessage is wrapped by Bytes errors: the message cannot be
// written as valid mail, however often it is tried.
var ErrInvalidMessage = errors.New("invalid message")

// Bytes returns the message as RFC 5322 text with CRLF line endings, ready
// for the SMTP DATA command.
func (m Message) Bytes() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("From", m.From.String())
	header("To", m.To.String())
	header("Subject", EncodeHeader(m.Subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", "<"+m.MessageID+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	// RFC 3834: tells autoresponders (vacation replies) not to answer.
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")

	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(m.Body, "\r\n", "\n")
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (m Message) validate() error {
	for _, a := range []struct {
		field string
		addr  mail.Address
	}{{"from", m.From}, {"to", m.To}} {
		if a.addr.Address == "" || strings.ContainsFunc(a.addr.Address, unicode.IsSpace) || strings.ContainsFunc(a.addr.Address, unicode.IsControl) {
			return fmt.Errorf("%w: %s address %q", ErrInvalidMessage, a.field, a.addr.Address)
		}
		if _, err := mail.ParseAddress(a.addr.Address); err != nil {
			return fmt.Errorf("%w: %s address %q: %v", ErrInvalidMessage, a.field, a.addr.Address, err)
		}
	}
	left, right, ok := strings.Cut(m.MessageID, "@")
	if !ok || left == "" || right == "" || strings.ContainsAny(m.MessageID, "<> \t\r\n") || strings.Count(m.MessageID, "@") != 1 {
		return fmt.Errorf("%w: Message-ID %q is not id-left@id-right", ErrInvalidMessage, m.MessageID)
	}
	return nil
}

// EncodeHeader returns s as a header value: unchanged when it is printable
// ASCII, otherwise as RFC 2047 encoded-words, folded onto continuation
// lines so that no line grows past the limit. Control characters (a line
// break smuggled into a subject) are always encoded, never written raw.
func EncodeHeader(s string) string {
	enc := mime.QEncoding.Encode("utf-8", s)
	// The encoder separates long text into several encoded-words with a
	// space; white space between encoded-words is not part of the text
	// (RFC 2047 section 6.2), so it can be a fold instead.
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}
