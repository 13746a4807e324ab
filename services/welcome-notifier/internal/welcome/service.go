package welcome

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	wmail "github.com/ssokit/platform/services/welcome-notifier/internal/mail"
)

var (
	// ErrInvalidEvent means the event lacks what a welcome e-mail needs: a
	// user id and event id that are UUIDs, and an e-mail address.
	ErrInvalidEvent = errors.New("invalid UserRegistered event")
	// ErrUndeliverable means this mail can never be delivered: the body
	// cannot be rendered for it, or the SMTP server rejected the recipient
	// or the message.
	ErrUndeliverable = errors.New("welcome e-mail undeliverable")
)

// Config is what the welcome e-mail looks like.
type Config struct {
	// From is the sender; its domain also names the Message-ID.
	From mail.Address
	// Subject is the subject line.
	Subject string
	// Body renders the text; nil means DefaultTemplate.
	Body *Template
	// Metrics, when not nil, receives welcome_notifier_mails_total.
	Metrics prometheus.Registerer
}

// Service sends each registered user one welcome e-mail.
type Service struct {
	ledger  Ledger
	sender  Sender
	from    mail.Address
	domain  string
	subject string
	body    *Template
	log     *slog.Logger
	mails   *prometheus.CounterVec
	now     func() time.Time
}

// NewService returns the use case over its ports.
func NewService(ledger Ledger, sender Sender, cfg Config, log *slog.Logger) (*Service, error) {
	_, domain, ok := strings.Cut(cfg.From.Address, "@")
	if !ok || domain == "" {
		return nil, fmt.Errorf("welcome: sender %q has no domain", cfg.From.Address)
	}
	if cfg.Subject == "" {
		return nil, errors.New("welcome: empty subject")
	}
	if cfg.Body == nil {
		cfg.Body = DefaultTemplate()
	}
	mails := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "welcome_notifier_mails_total",
		Help: "UserRegistered events handled, by outcome: sent, duplicate (the user's mail was sent before), failed (to be retried), rejected (permanently undeliverable or invalid).",
	}, []string{"outcome"})
	for _, o := range []string{"sent", "duplicate", "failed", "rejected"} {
		mails.WithLabelValues(o) // exported as 0 from the start, so rates and alerts work
	}
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(mails); err != nil {
			return nil, fmt.Errorf("welcome: metrics: %w", err)
		}
	}
	return &Service{
		ledger: ledger, sender: sender,
		from: cfg.From, domain: domain, subject: cfg.Subject, body: cfg.Body,
		log: log, mails: mails, now: time.Now,
	}, nil
}

// MessageID returns the Message-ID of userID's welcome e-mail: the same for
// every attempt and every event of that user, so a mail resent after a
// crash (see the package documentation) is recognisably the same message.
func MessageID(userID, domain string) string {
	return "welcome." + strings.ToLower(userID) + "@" + domain
}

// Handle sends the welcome e-mail for ev unless the user already has one.
// It is a consumer.Handler; see the package documentation for its errors.
func (s *Service) Handle(ctx context.Context, ev *eventsv1.UserRegistered, meta consumer.Metadata) error {
	err := s.handle(ctx, ev, meta)
	switch {
	case err == nil:
	case errors.Is(err, consumer.ErrPermanent):
		s.mails.WithLabelValues("rejected").Inc()
	default:
		s.mails.WithLabelValues("failed").Inc()
	}
	return err
}

func (s *Service) handle(ctx context.Context, ev *eventsv1.UserRegistered, meta consumer.Metadata) error {
	if err := validate(ev); err != nil {
		return fmt.Errorf("%w: %w", consumer.ErrPermanent, err)
	}
	userID := strings.ToLower(ev.GetUserId())
	d := Delivery{
		UserID:    userID,
		EventID:   strings.ToLower(ev.GetEventId()),
		Email:     ev.GetEmail(),
		MessageID: MessageID(userID, s.domain),
	}
	fullName := cleanName(ev.GetFullName())
	to := mail.Address{Name: fullName, Address: d.Email}
	body, err := s.body.Render(TemplateData{
		Name:         greetingName(fullName, d.Email),
		FullName:     fullName,
		Email:        d.Email,
		UserID:       d.UserID,
		RegisteredAt: ev.GetRegisteredAt().AsTime(),
	})
	if err != nil {
		return fmt.Errorf("%w: %w: %w", consumer.ErrPermanent, ErrUndeliverable, err)
	}
	msg := wmail.Message{
		From: s.from, To: to, Subject: s.subject, Body: body,
		MessageID: d.MessageID, Date: s.now(),
	}

	outcome, err := s.ledger.Once(ctx, d, func(ctx context.Context) error { return s.sender.Send(ctx, msg) })
	if err != nil {
		if permanent(err) {
			return fmt.Errorf("%w: %w: user %s: %w", consumer.ErrPermanent, ErrUndeliverable, d.UserID, err)
		}
		return fmt.Errorf("welcome user %s: %w", d.UserID, err)
	}
	attrs := []any{
		slog.String("user_id", d.UserID), slog.String("event_id", d.EventID),
		slog.String("message_id", d.MessageID), slog.Int("attempt", meta.Attempt),
		slog.String("topic", meta.Topic), slog.Int64("offset", meta.Offset),
	}
	if outcome == AlreadySent {
		s.mails.WithLabelValues("duplicate").Inc()
		s.log.InfoContext(ctx, "welcome e-mail already sent, skipping", attrs...)
		return nil
	}
	s.mails.WithLabelValues("sent").Inc()
	s.log.InfoContext(ctx, "welcome e-mail sent", attrs...)
	return nil
}

// validate checks what a welcome e-mail needs.
func validate(ev *eventsv1.UserRegistered) error {
	if ev == nil {
		return fmt.Errorf("%w: no event", ErrInvalidEvent)
	}
	// uuid.Validate also takes braces and urn:uuid: prefixes; the ledger's
	// key is the canonical 36-character form.
	if err := uuid.Validate(ev.GetUserId()); err != nil || len(ev.GetUserId()) != 36 {
		return fmt.Errorf("%w: user id %q is not a UUID", ErrInvalidEvent, ev.GetUserId())
	}
	if err := uuid.Validate(ev.GetEventId()); err != nil || len(ev.GetEventId()) != 36 {
		return fmt.Errorf("%w: event id %q is not a UUID", ErrInvalidEvent, ev.GetEventId())
	}
	email := ev.GetEmail()
	if email == "" {
		return fmt.Errorf("%w: no e-mail address", ErrInvalidEvent)
	}
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email || addr.Name != "" {
		return fmt.Errorf("%w: e-mail %q is not a bare address", ErrInvalidEvent, email)
	}
	return nil
}

// permanent reports whether err says the message can never be delivered.
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
