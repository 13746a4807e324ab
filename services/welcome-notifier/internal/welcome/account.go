package welcome

import (
	"github.com/google/uuid"

	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
)

// MaxTokenLength bounds a one-time token: sso's are 43 characters (32
// random bytes in base64url), so anything much longer is not one of ours.
const MaxTokenLength = 512

// Password change methods, as AccountMail.Method and mail.Data.Method
// carry them.
const (
	MethodReset  = "reset"
	MethodChange = "change"
)

// AccountMail is what an account mail is made from: one account event of
// a kind that asks for a mail.
type AccountMail struct {
	// Kind is mail.VerifyEmail, mail.PasswordReset or mail.PasswordChanged.
	Kind    mail.Kind
	UserID  string // a UUID in its 36-character form
	EventID string // a UUID in its 36-character form; one mail per event
	Email   string // a bare address
	// Token is the one-time token of VerifyEmail and PasswordReset, opened
	// from the event. It is a secret: it goes into the mail's link and
	// nowhere else (no log, no error, no ledger row).
	Token string
	// ExpiresAt is when Token stops working.
	ExpiresAt time.Time
	// Method is how a password was changed (PasswordChanged): MethodReset,
	// MethodChange, or "" when the event's method is unknown to this build.
	Method string
}

// AccountConfig is where account mails come from and where their links
// lead.
type AccountConfig struct {
	// From is the sender; its domain also names the Message-IDs.
	From netmail.Address
	// LinkBase is the absolute http(s) URL the links start with, without
	// query or fragment: the links are LinkBase + /account/verify-email
	// and LinkBase + /account/reset-password, with ?token=.
	LinkBase string
}

// linkPaths are the pages the links lead to, below AccountConfig.LinkBase.
var linkPaths = map[mail.Kind]string{
	mail.VerifyEmail:   "/account/verify-email",
	mail.PasswordReset: "/account/reset-password",
}

// AccountService sends one mail per account event: a verification link,
// a reset link, a notice that the password changed.
type AccountService struct {
	ledger    Ledger
	sender    Sender
	composers map[mail.Kind]*mail.Composer
	linkBase  *url.URL
	now       func() time.Time
}

// NewAccountService returns the use case over its ports.
func NewAccountService(ledger Ledger, sender Sender, cfg AccountConfig) (*AccountService, error) {
	base, err := ParseLinkBase(cfg.LinkBase)
	if err != nil {
		return nil, err
	}
	s := &AccountService{ledger: ledger, sender: sender, composers: map[mail.Kind]*mail.Composer{}, linkBase: base, now: time.Now}
	for _, k := range []mail.Kind{mail.VerifyEmail, mail.PasswordReset, mail.PasswordChanged} {
		c, err := mail.NewComposer(k, cfg.From, k.Subject(), nil)
		if err != nil {
			return nil, fmt.Errorf("account mails: %w", err)
		}
		s.composers[k] = c
	}
	return s, nil
}

// ParseLinkBase checks that base is an absolute http or https URL with a
// host and no query or fragment, and returns it without a trailing slash.
func ParseLinkBase(base string) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("link base %q must be an absolute http(s) URL without credentials, query or fragment", base)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// link returns the page of kind with token as its token parameter, escaped.
func (s *AccountService) link(kind mail.Kind, token string) string {
	u := *s.linkBase
	u.Path += linkPaths[kind]
	u.RawQuery = url.Values{"token": {token}}.Encode()
	return u.String()
}

// Send mails m unless its event's mail went out before, and returns the
// delivery it asked the Ledger for and what the Ledger did. Its errors
// are Welcome's (see the package documentation); none of them carries the
// token, the link or the address.
func (s *AccountService) Send(ctx context.Context, m AccountMail) (Delivery, Outcome, error) {
	c, ok := s.composers[m.Kind]
	if !ok {
		return Delivery{}, 0, fmt.Errorf("%w: no account mail of kind %q", ErrInvalidEvent, m.Kind)
	}
	if err := validateIDs(m.UserID, m.EventID, m.Email); err != nil {
		return Delivery{}, 0, err
	}
	data := mail.Data{ExpiresAt: m.ExpiresAt}
	switch m.Kind {
	case mail.VerifyEmail, mail.PasswordReset:
		if m.Token == "" || len(m.Token) > MaxTokenLength {
			return Delivery{}, 0, fmt.Errorf("%w: %s token of %d bytes", ErrInvalidEvent, m.Kind, len(m.Token))
		}
		if m.ExpiresAt.IsZero() {
			return Delivery{}, 0, fmt.Errorf("%w: %s without an expiry", ErrInvalidEvent, m.Kind)
		}
		data.Link = s.link(m.Kind, m.Token)
	case mail.PasswordChanged:
		switch m.Method {
		case MethodReset, MethodChange, "":
		default:
			return Delivery{}, 0, fmt.Errorf("%w: password change method %q", ErrInvalidEvent, m.Method)
		}
		data.Method = m.Method
	}
	eventID := strings.ToLower(m.EventID)
	d := Delivery{
		Kind:      m.Kind,
		UserID:    strings.ToLower(m.UserID),
		EventID:   eventID,
		Email:     m.Email,
		MessageID: c.MessageID(eventID),
	}
	msg, err := c.Compose(eventID, mail.Recipient{UserID: d.UserID, Email: d.Email}, data, s.now())
	if err != nil {
		return d, 0, fmt.Errorf("%w: %w", ErrUndeliverable, err)
	}
	outcome, err := s.ledger.Once(ctx, d, func(ctx context.Context) error { return s.sender.Send(ctx, msg) })
	if err != nil {
		return d, 0, classify(fmt.Sprintf("%s event %s", m.Kind, eventID), redact(err, data.Link, m.Email, m.Token, url.QueryEscape(m.Token)))
	}
	return d, outcome, nil
}

// classify wraps a failure of the Ledger or the Sender in what it means
// for the event: undeliverable for good, unavailable for now, or neither.
func classify(what string, err error) error {
	switch {
	case permanent(err):
		return fmt.Errorf("%w: %s: %w", ErrUndeliverable, what, err)
	case transient(err) && !errors.Is(err, ErrUnavailable):
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// redacted is an error whose text has secrets (an address a mail server
// echoed in its reply, say) replaced, so that logs and dead-letter headers
// never show them; errors.Is and errors.As still see the original.
type redacted struct {
	err  error
	text string
}

func (r *redacted) Error() string { return r.text }
func (r *redacted) Unwrap() error { return r.err }

// redact returns err with every non-empty secret in its text replaced.
func redact(err error, secrets ...string) error {
	text := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			text = strings.ReplaceAll(text, s, "[redacted]")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &redacted{err: err, text: text}
}

// Forget erases what the notifier keeps about a deleted user (see
// Ledger.Erase), once the UserDeleted event eventID says so. Erasing a
// user twice, or one never mailed, succeeds.
func (s *AccountService) Forget(ctx context.Context, userID, eventID string) error {
	if err := uuid.Validate(userID); err != nil || len(userID) != 36 {
		return fmt.Errorf("%w: user id %q is not a UUID", ErrInvalidEvent, userID)
	}
	if err := uuid.Validate(eventID); err != nil || len(eventID) != 36 {
		return fmt.Errorf("%w: event id %q is not a UUID", ErrInvalidEvent, eventID)
	}
	if err := s.ledger.Erase(ctx, strings.ToLower(userID), strings.ToLower(eventID)); err != nil {
		return classify("erase user "+userID, err)
	}
	return nil
}
