// Package events is the Kafka side of loyalty-points: it turns the events it
// consumes into welcome-bonus credits, on registration (UserRegistered) or,
// when so configured, on the address's verification (the EmailVerified
// kind of AccountEvent), and closes the account of a deleted user (the
// UserDeleted kind, in either setting). Either way the ledger credits a
// user once. Delivery
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
	// CloseAccount closes a deleted user's account, once.
	CloseAccount(ctx context.Context, userID, eventID string) (closed bool, err error)
}

// Outcomes of a UserRegistered event, the values of the outcome label of
// loyalty_points_welcome_bonuses_total.
const (
	outcomeCredited  = "credited"
	outcomeDuplicate = "duplicate"
	outcomeFailed    = "failed"
	outcomeRejected  = "rejected"
	// outcomeClosed: a UserDeleted event closed the account.
	outcomeClosed = "closed"
)

// BonusOn names the event that credits the welcome bonus.
type BonusOn string

const (
	// OnRegistration credits on UserRegistered.
	OnRegistration BonusOn = "registration"
	// OnVerification credits on the AccountEvent EmailVerified; a
	// UserRegistered credits nothing.
	OnVerification BonusOn = "verification"
)

// Kinds of skipped event, the values of the kind label of
// loyalty_points_events_skipped_total besides the AccountEvent kinds.
const (
	skippedUserRegistered = "user_registered"
	// skippedUnknown is an AccountEvent of a kind newer than this build.
	skippedUnknown = "unknown"
)

// Handler handles UserRegistered events and AccountEvents.
type Handler struct {
	w        Welcomer
	on       BonusOn
	log      *slog.Logger
	outcomes *prometheus.CounterVec
	closings *prometheus.CounterVec
	skipped  *prometheus.CounterVec
}

// NewHandler returns a Handler crediting through w on the event on names,
// with its counters registered on reg.
func NewHandler(w Welcomer, on BonusOn, reg prometheus.Registerer, log *slog.Logger) (*Handler, error) {
	if on != OnRegistration && on != OnVerification {
		return nil, fmt.Errorf("events: welcome bonus on %q: want %q or %q", on, OnRegistration, OnVerification)
	}
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loyalty_points_welcome_bonuses_total",
		Help: "Welcome-bonus events (UserRegistered, or EmailVerified under LOYALTY_WELCOME_BONUS_ON=verification) handled, by outcome: credited, duplicate (the user had the bonus already), failed (to be retried), rejected (malformed, dead-lettered).",
	}, []string{"outcome"})
	for _, o := range []string{outcomeCredited, outcomeDuplicate, outcomeFailed, outcomeRejected} {
		outcomes.WithLabelValues(o)
	}
	skipped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loyalty_points_events_skipped_total",
		Help: "Events consumed that credit nothing under LOYALTY_WELCOME_BONUS_ON, by kind: user_registered (under verification), an AccountEvent kind other than email_verified, or unknown (a kind newer than this build).",
	}, []string{"kind"})
	skipped.WithLabelValues(skippedUserRegistered)
	skipped.WithLabelValues(skippedUnknown)
	if err := reg.Register(outcomes); err != nil {
		return nil, fmt.Errorf("events metrics: %w", err)
	}
	if err := reg.Register(skipped); err != nil {
		return nil, fmt.Errorf("events metrics: %w", err)
	}
	closings := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loyalty_points_account_closings_total",
		Help: "UserDeleted events handled, by outcome: closed, duplicate (the account was closed already), failed (to be retried), rejected (malformed, dead-lettered).",
	}, []string{"outcome"})
	for _, o := range []string{outcomeClosed, outcomeDuplicate, outcomeFailed, outcomeRejected} {
		closings.WithLabelValues(o)
	}
	if err := reg.Register(closings); err != nil {
		return nil, fmt.Errorf("events metrics: %w", err)
	}
	return &Handler{w: w, on: on, log: log, outcomes: outcomes, closings: closings, skipped: skipped}, nil
}

// UserRegistered is a consumer.Handler: it credits the user's welcome
// bonus, and a repeated or redelivered event is a success that changes
// nothing. An event with malformed ids can never be credited, so its error
// wraps consumer.ErrPermanent and it is dead-lettered at once. The
// database unreachable wraps consumer.ErrTransient: the consumer waits for
// it without limit and dead-letters nothing. Any other failure is retried
// a few times, then dead-lettered. When the bonus waits for verification,
// the event is skipped.
func (h *Handler) UserRegistered(ctx context.Context, ev *eventsv1.UserRegistered, meta consumer.Metadata) error {
	if h.on != OnRegistration {
		h.skipped.WithLabelValues(skippedUserRegistered).Inc()
		h.log.DebugContext(ctx, "UserRegistered skipped: the welcome bonus waits for the address's verification",
			slog.String("event_id", ev.GetEventId()))
		return nil
	}
	return h.credit(ctx, "UserRegistered", ev.GetUserId(), ev.GetEventId(), meta)
}

// AccountEvent is a consumer.Handler: an EmailVerified event credits the
// user's welcome bonus when it waits for verification, handled like a
// UserRegistered otherwise is. Every other kind, including one newer than
// this build (which decodes as no kind), is skipped and counted: it is no
// failure, so nothing is dead-lettered.
func (h *Handler) AccountEvent(ctx context.Context, ev *eventsv1.AccountEvent, meta consumer.Metadata) error {
	if _, ok := ev.GetKind().(*eventsv1.AccountEvent_UserDeleted); ok {
		return h.close(ctx, ev.GetUserId(), ev.GetEventId(), meta)
	}
	if _, ok := ev.GetKind().(*eventsv1.AccountEvent_EmailVerified); ok && h.on == OnVerification {
		return h.credit(ctx, "EmailVerified", ev.GetUserId(), ev.GetEventId(), meta)
	}
	kind := skippedUnknown
	if od := ev.ProtoReflect().WhichOneof(ev.ProtoReflect().Descriptor().Oneofs().ByName("kind")); od != nil {
		kind = string(od.Name())
	}
	h.skipped.WithLabelValues(kind).Inc()
	h.log.DebugContext(ctx, "AccountEvent skipped", slog.String("kind", kind), slog.String("event_id", ev.GetEventId()))
	return nil
}

// close closes the account of the user a UserDeleted event names, in
// either bonus setting.
func (h *Handler) close(ctx context.Context, userID, eventID string, meta consumer.Metadata) error {
	closed, err := h.w.CloseAccount(ctx, userID, eventID)
	var invalid *ledger.InvalidArgumentError
	switch {
	case errors.As(err, &invalid):
		h.closings.WithLabelValues(outcomeRejected).Inc()
		return fmt.Errorf("%w: UserDeleted event: %w", consumer.ErrPermanent, err)
	case errors.Is(err, ledger.ErrUnavailable):
		h.closings.WithLabelValues(outcomeFailed).Inc()
		return fmt.Errorf("%w: close account: %w", consumer.ErrTransient, err)
	case err != nil:
		h.closings.WithLabelValues(outcomeFailed).Inc()
		return fmt.Errorf("close account: %w", err)
	case closed:
		h.closings.WithLabelValues(outcomeClosed).Inc()
	default:
		h.closings.WithLabelValues(outcomeDuplicate).Inc()
	}
	h.log.InfoContext(ctx, "UserDeleted handled",
		slog.String("user_id", userID), slog.String("event_id", eventID),
		slog.Bool("account_closed", closed), slog.Int("attempt", meta.Attempt))
	return nil
}

// credit credits the welcome bonus for the event named what.
func (h *Handler) credit(ctx context.Context, what, userID, eventID string, meta consumer.Metadata) error {
	credited, err := h.w.CreditWelcomeBonus(ctx, userID, eventID)
	var invalid *ledger.InvalidArgumentError
	switch {
	case errors.As(err, &invalid):
		h.outcomes.WithLabelValues(outcomeRejected).Inc()
		return fmt.Errorf("%w: %s event: %w", consumer.ErrPermanent, what, err)
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
	h.log.InfoContext(ctx, what+" handled",
		slog.String("user_id", userID),
		slog.String("event_id", eventID),
		slog.Bool("bonus_credited", credited),
		slog.Int("attempt", meta.Attempt))
	return nil
}
