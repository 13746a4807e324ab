// Package events is the Kafka side of loyalty-points: it turns the
// UserRegistered events it consumes into welcome-bonus credits. Delivery
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
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
)

// Welcomer credits a new user's welcome bonus, once per user.
type Welcomer interface {
	CreditWelcomeBonus(ctx context.Context, userID, eventID string) (credited bool, err error)
}

// Outcomes of a UserRegistered event, the values of the outcome label of
// loyalty_points_welcome_bonuses_total.
const (
	outcomeCredited  = "credited"
	outcomeDuplicate = "duplicate"
	outcomeFailed    = "failed"
	outcomeRejected  = "rejected"
)

// Handler handles UserRegistered events.
type Handler struct {
	w        Welcomer
	log      *slog.Logger
	outcomes *prometheus.CounterVec
}

// NewHandler returns a Handler crediting through w, with its counter
// registered on reg.
func NewHandler(w Welcomer, reg prometheus.Registerer, log *slog.Logger) (*Handler, error) {
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loyalty_points_welcome_bonuses_total",
		Help: "UserRegistered events handled, by outcome: credited, duplicate (the user had the bonus already), failed (to be retried), rejected (malformed, dead-lettered).",
	}, []string{"outcome"})
	for _, o := range []string{outcomeCredited, outcomeDuplicate, outcomeFailed, outcomeRejected} {
		outcomes.WithLabelValues(o)
	}
	if err := reg.Register(outcomes); err != nil {
		return nil, fmt.Errorf("events metrics: %w", err)
	}
	return &Handler{w: w, log: log, outcomes: outcomes}, nil
}

// UserRegistered is a consumer.Handler: it credits the user's welcome
// bonus, and a repeated or redelivered event is a success that changes
// nothing. An event with malformed ids can never be credited, so its error
// wraps consumer.ErrPermanent and it is dead-lettered at once. The
// database unreachable wraps consumer.ErrTransient: the consumer waits for
// it without limit and dead-letters nothing. Any other failure is retried
// a few times, then dead-lettered.
func (h *Handler) UserRegistered(ctx context.Context, ev *eventsv1.UserRegistered, meta consumer.Metadata) error {
	credited, err := h.w.CreditWelcomeBonus(ctx, ev.GetUserId(), ev.GetEventId())
	var invalid *ledger.InvalidArgumentError
	switch {
	case errors.As(err, &invalid):
		h.outcomes.WithLabelValues(outcomeRejected).Inc()
		return fmt.Errorf("%w: UserRegistered event: %w", consumer.ErrPermanent, err)
	case errors.Is(err, ledger.ErrUnavailable):
		h.outcomes.WithLabelValues(outcomeFailed).Inc()
		return fmt.Errorf("%w: credit welcome bonus: %w", consumer.ErrTransient, err)
	case err != nil:
		h.outcomes.WithLabelValues(outcomeFailed).Inc()
		return fmt.Errorf("credit welcome bonus: %w", err)
	case credited:
		h.outcomes.WithLabelValues(outcomeCredited).Inc()
	default:
		h.outcomes.WithLabelValues(outcomeDuplicate).Inc()
	}
	h.log.InfoContext(ctx, "UserRegistered handled",
		slog.String("user_id", ev.GetUserId()),
		slog.String("event_id", ev.GetEventId()),
		slog.Bool("bonus_credited", credited),
		slog.Int("attempt", meta.Attempt))
	return nil
}
