// Package events is the Kafka side of the welcome-notifier: it turns the
// UserRegistered events it consumes into welcome e-mails (Handler), and
// the AccountEvents into verification, reset and password-changed mails
// (AccountHandler), opening the one-time tokens sealed in them. Delivery
// (retries, dead letters, commits, tracing) is package consumer's job; this
// package decides only what an event means and which failures are
// permanent.
package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

// Welcomer sends a registered user's welcome e-mail, once per user.
type Welcomer interface {
	Welcome(ctx context.Context, r welcome.Registration) (welcome.Delivery, welcome.Outcome, error)
}

// PersonalOpener opens the personal data sealed in a user's event with the
// user's data key: *sso.Keys. It returns welcome.ErrErased when the user
// was deleted (the key is destroyed), an error wrapping
// welcome.ErrUnavailable when the key cannot be fetched now, and one
// wrapping welcome.ErrInvalidEvent when it never will open.
type PersonalOpener interface {
	OpenPersonal(ctx context.Context, userID, eventID string, s *eventsv1.SealedPersonal) (*eventsv1.PersonalData, error)
}

// personalEmail returns the e-mail address of an event: sealed in personal,
// or, in an event written before personal data was sealed, in clear.
func personalEmail(ctx context.Context, open PersonalOpener, userID, eventID, clear string, sealed *eventsv1.SealedPersonal) (string, error) {
	if sealed == nil {
		return clear, nil
	}
	p, err := open.OpenPersonal(ctx, userID, eventID, sealed)
	if err != nil {
		return "", err
	}
	return p.GetEmail(), nil
}

// Outcomes of a UserRegistered event, the values of the outcome label of
// welcome_notifier_mails_total.
const (
	outcomeSent      = "sent"
	outcomeDuplicate = "duplicate"
	outcomeFailed    = "failed"
	outcomeRejected  = "rejected"
)

// Handler handles UserRegistered events.
type Handler struct {
	w        Welcomer
	personal PersonalOpener
	log      *slog.Logger
	mails    *prometheus.CounterVec
}

// NewHandler returns a Handler welcoming through w, opening the events'
// personal data with personal, with its counter registered on reg.
func NewHandler(w Welcomer, personal PersonalOpener, reg prometheus.Registerer, log *slog.Logger) (*Handler, error) {
	mails := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "welcome_notifier_mails_total",
		Help: "UserRegistered events handled, by outcome: sent, duplicate (the user's mail was sent before), failed (to be retried), rejected (permanently undeliverable or invalid), erased (the user was deleted before its welcome: nothing sent).",
	}, []string{"outcome"})
	for _, o := range []string{outcomeSent, outcomeDuplicate, outcomeFailed, outcomeRejected, outcomeErased} {
		mails.WithLabelValues(o) // exported as 0 from the start, so rates and alerts work
	}
	if err := reg.Register(mails); err != nil {
		return nil, fmt.Errorf("events metrics: %w", err)
	}
	return &Handler{w: w, personal: personal, log: log, mails: mails}, nil
}

// UserRegistered is a consumer.Handler: it sends the user's welcome
// e-mail, and a repeated or redelivered event is a success that sends
// nothing. An event no retry can fix (malformed, or a recipient the mail
// server refuses for good) returns an error wrapping consumer.ErrPermanent,
// so it is dead-lettered at once. A mail server or database that cannot be
// reached returns one wrapping consumer.ErrTransient, so the consumer
// waits for it without limit and dead-letters nothing. Any other failure
// is retried a few times and then dead-lettered. The address is sealed
// under the user's data key: when sso no longer has the key (the user was
// deleted) the event belongs to an erased user, and succeeds sending
// nothing; when sso cannot be asked, it is an outage, waited for.
func (h *Handler) UserRegistered(ctx context.Context, ev *eventsv1.UserRegistered, meta consumer.Metadata) error {
	d, outcome, err := h.welcome(ctx, ev)
	switch {
	case errors.Is(err, welcome.ErrErased):
		h.mails.WithLabelValues(outcomeErased).Inc()
		h.log.InfoContext(ctx, "welcome e-mail of an erased user, not sent: its data key is gone",
			slog.String("user_id", ev.GetUserId()), slog.String("event_id", ev.GetEventId()),
			slog.Int("attempt", meta.Attempt), slog.String("topic", meta.Topic), slog.Int64("offset", meta.Offset))
		return nil
	case err != nil:
		outcome, err := classify(err)
		h.mails.WithLabelValues(outcome).Inc()
		return err
	}
	attrs := []any{
		slog.String("user_id", d.UserID), slog.String("event_id", d.EventID),
		slog.String("message_id", d.MessageID), slog.Int("attempt", meta.Attempt),
		slog.String("topic", meta.Topic), slog.Int64("offset", meta.Offset),
	}
	if outcome == welcome.Erased {
		h.mails.WithLabelValues(outcomeErased).Inc()
		h.log.InfoContext(ctx, "welcome e-mail of a deleted user, not sent", attrs...)
		return nil
	}
	if outcome == welcome.AlreadySent {
		h.mails.WithLabelValues(outcomeDuplicate).Inc()
		h.log.InfoContext(ctx, "welcome e-mail already sent, skipping", attrs...)
		return nil
	}
	h.mails.WithLabelValues(outcomeSent).Inc()
	h.log.InfoContext(ctx, "welcome e-mail sent", attrs...)
	return nil
}

// welcome leaves the event's full_name out on purpose: it is whatever the
// registrant typed, and anyone can register someone else's address.
func (h *Handler) welcome(ctx context.Context, ev *eventsv1.UserRegistered) (welcome.Delivery, welcome.Outcome, error) {
	if ev == nil {
		return welcome.Delivery{}, 0, fmt.Errorf("%w: no event", welcome.ErrInvalidEvent)
	}
	email, err := personalEmail(ctx, h.personal, ev.GetUserId(), ev.GetEventId(), ev.GetEmail(), ev.GetPersonal())
	if err != nil {
		return welcome.Delivery{}, 0, err
	}
	return h.w.Welcome(ctx, welcome.Registration{
		UserID:       ev.GetUserId(),
		EventID:      ev.GetEventId(),
		Email:        email,
		RegisteredAt: ev.GetRegisteredAt().AsTime(),
	})
}

// classify turns a failure of the mail use cases into the metric outcome
// it counts as and the error the consumer acts on: a bad event or an
// address the mail server refuses for good is permanent (dead-lettered,
// "rejected"), an unreachable dependency transient (retried, "failed"),
// anything else retried as the consumer retries unknown errors.
func classify(err error) (outcome string, _ error) {
	switch {
	case errors.Is(err, welcome.ErrInvalidEvent), errors.Is(err, welcome.ErrUndeliverable):
		return outcomeRejected, fmt.Errorf("%w: %w", consumer.ErrPermanent, err)
	case errors.Is(err, welcome.ErrUnavailable):
		return outcomeFailed, fmt.Errorf("%w: %w", consumer.ErrTransient, err)
	default:
		return outcomeFailed, err
	}
}
