package welcome

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
)

var (
	// ErrInvalidEvent means the event lacks what its mail needs: a user id
	// and event id that are UUIDs, an e-mail address, and for the account
	// mails with a link, a token and its expiry.
	ErrInvalidEvent = errors.New("invalid event")
	// ErrUndeliverable means this mail can never be delivered: the body
	// cannot be rendered for it, or the mail server rejected the recipient
	// or the message.
	ErrUndeliverable = errors.New("mail undeliverable")
	// ErrUnavailable means the mail server, the ledger's store or sso (for
	// a user's data key) cannot be reached or is busy right now: the same event will be mailed once it
	// is back. Ledgers wrap it around such failures; a Sender's
	// error says so with a Transient method.
	ErrUnavailable = errors.New("mail dependency unavailable")
	// ErrErased means the event's user was deleted: its data key is
	// destroyed, so the event's personal data cannot be read, and nothing
	// is to be sent for it. Retrying never helps.
	ErrErased = errors.New("the user was erased")
)

// Registration is what a welcome e-mail is made from: one UserRegistered
// event.
type Registration struct {
	UserID       string // a UUID in its 36-character form
	EventID      string // a UUID in its 36-character form
	Email        string // a bare address
	RegisteredAt time.Time
}

// Config is what the welcome e-mail looks like.
type Config struct {
	// From is the sender; its domain also names the Message-ID.
	From netmail.Address
	// Subject is the subject line.
	Subject string
	// Body renders the text; nil means mail.Welcome's built-in template.
	Body *mail.Template
}

// Service sends each registered user one welcome e-mail.
type Service struct {
	ledger Ledger
	sender Sender
	mail   *mail.Composer
	now    func() time.Time
}

// NewService returns the use case over its ports.
func NewService(ledger Ledger, sender Sender, cfg Config) (*Service, error) {
	c, err := mail.NewComposer(mail.Welcome, cfg.From, cfg.Subject, cfg.Body)
	if err != nil {
		return nil, fmt.Errorf("welcome: %w", err)
	}
	return &Service{ledger: ledger, sender: sender, mail: c, now: time.Now}, nil
}

// Welcome sends r's user the welcome e-mail unless they already have one,
// and returns the delivery it asked the Ledger for and what the Ledger
// did. See the package documentation for its errors.
func (s *Service) Welcome(ctx context.Context, r Registration) (Delivery, Outcome, error) {
	if err := validate(r); err != nil {
		return Delivery{}, 0, err
	}
	userID := strings.ToLower(r.UserID)
	d := Delivery{
		Kind:      mail.Welcome,
		UserID:    userID,
		EventID:   strings.ToLower(r.EventID),
		Email:     r.Email,
		MessageID: s.mail.MessageID(userID),
	}
	msg, err := s.mail.Compose(d.UserID,
		mail.Recipient{UserID: d.UserID, Email: d.Email},
		mail.Data{RegisteredAt: r.RegisteredAt},
		s.now(),
	)
	if err != nil {
		return d, 0, fmt.Errorf("%w: %w", ErrUndeliverable, err)
	}

	outcome, err := s.ledger.Once(ctx, d, func(ctx context.Context) error { return s.sender.Send(ctx, msg) })
	if err != nil {
		return d, 0, classify("welcome user "+d.UserID, redact(err, d.Email))
	}
	return d, outcome, nil
}

// validate checks what a welcome e-mail needs.
func validate(r Registration) error { return validateIDs(r.UserID, r.EventID, r.Email) }

// validateIDs checks the ids and the address every mail needs. Its errors
// never quote the address: it is personal data, and they are logged.
func validateIDs(userID, eventID, email string) error {
	// uuid.Validate also takes braces and urn:uuid: prefixes; the ledger's
	// key is the canonical 36-character form.
	if err := uuid.Validate(userID); err != nil || len(userID) != 36 {
		return fmt.Errorf("%w: user id %q is not a UUID", ErrInvalidEvent, userID)
	}
	if err := uuid.Validate(eventID); err != nil || len(eventID) != 36 {
		return fmt.Errorf("%w: event id %q is not a UUID", ErrInvalidEvent, eventID)
	}
	if email == "" {
		return fmt.Errorf("%w: no e-mail address", ErrInvalidEvent)
	}
	if addr, err := netmail.ParseAddress(email); err != nil || addr.Address != email || addr.Name != "" {
		return fmt.Errorf("%w: the e-mail address is not a bare address", ErrInvalidEvent)
	}
	return nil
}

// permanent reports whether err says the message can never be delivered.
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// transient reports whether err says the mail system cannot take the
// message right now but may later.
func transient(err error) bool {
	var p interface{ Transient() bool }
	return errors.As(err, &p) && p.Transient()
}
