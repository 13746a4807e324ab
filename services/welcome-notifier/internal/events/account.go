package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

// Purposes of the sealed tokens, the first part of their sealbox.AAD: sso
// seals with the same words, so a verification token cannot pass for a
// reset token.
const (
	PurposeEmailVerification = "email-verification"
	PurposePasswordReset     = "password-reset"
)

// AccountMailer sends the mail an account event asks for, once per event.
type AccountMailer interface {
	Send(ctx context.Context, m welcome.AccountMail) (welcome.Delivery, welcome.Outcome, error)
	// Forget erases what the notifier keeps about a deleted user.
	Forget(ctx context.Context, userID, eventID string) error
}

// Opener opens a token sealed for the notifier: *sealbox.Ring. An error
// wrapping sealbox.ErrUnsealable means it never will.
type Opener interface {
	Open(s *eventsv1.SealedSecret, aad []byte) ([]byte, error)
}

// Kinds of account event, the values of the kind label of
// welcome_notifier_account_events_total.
const (
	kindVerificationRequested = "email_verification_requested"
	kindEmailVerified         = "email_verified"
	kindResetRequested        = "password_reset_requested"
	kindPasswordChanged       = "password_changed"
	kindUserDeleted           = "user_deleted"
	kindUnknown               = "unknown"
)

// Outcomes of an account event beyond those of a UserRegistered one.
const (
	// outcomeIgnored: a kind that asks for no mail (EmailVerified).
	outcomeIgnored = "ignored"
	// outcomeSkipped: a kind newer than this build; see AccountEvent.
	outcomeSkipped = "skipped"
	// outcomeErased: UserDeleted erased the user, or an event of a user
	// erased earlier sent nothing.
	outcomeErased = "erased"
)

// AccountHandler handles AccountEvents.
type AccountHandler struct {
	m        AccountMailer
	open     Opener
	personal PersonalOpener
	log      *slog.Logger
	events   *prometheus.CounterVec
}

// NewAccountHandler returns an AccountHandler mailing through m, opening
// tokens with open and the events' personal data with personal, with its
// counter registered on reg.
func NewAccountHandler(m AccountMailer, open Opener, personal PersonalOpener, reg prometheus.Registerer, log *slog.Logger) (*AccountHandler, error) {
	events := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "welcome_notifier_account_events_total",
		Help: "AccountEvents handled, by kind and outcome: sent, duplicate (the event's mail was sent before), failed (to be retried), rejected (invalid, unopenable token or undeliverable: dead-lettered), ignored (a kind that needs no mail), erased (the user was deleted: its data erased, or nothing sent for it), skipped (a kind this build does not know).",
	}, []string{"kind", "outcome"})
	// Exported as 0 from the start, so rates and alerts work.
	for _, k := range []string{kindVerificationRequested, kindResetRequested, kindPasswordChanged} {
		for _, o := range []string{outcomeSent, outcomeDuplicate, outcomeFailed, outcomeRejected, outcomeErased} {
			events.WithLabelValues(k, o)
		}
	}
	events.WithLabelValues(kindEmailVerified, outcomeIgnored)
	for _, o := range []string{outcomeErased, outcomeFailed, outcomeRejected} {
		events.WithLabelValues(kindUserDeleted, o)
	}
	events.WithLabelValues(kindUnknown, outcomeSkipped)
	if err := reg.Register(events); err != nil {
		return nil, fmt.Errorf("events metrics: %w", err)
	}
	return &AccountHandler{m: m, open: open, personal: personal, log: log, events: events}, nil
}

// AccountEvent is a consumer.Handler. It sends the mail the event asks for
// (a verification link, a reset link, a password-changed notice), once per
// event: a redelivery is a success that sends nothing. EmailVerified asks
// for no mail, and an event whose kind this build does not know (a kind
// added to the schema later) is skipped: both succeed and are counted. A
// token that does not open with the ring (another key, altered, moved from
// another event) is permanent, like an invalid event: dead-lettered at
// once. Errors and logs never carry the token, the link or the address.
func (h *AccountHandler) AccountEvent(ctx context.Context, ev *eventsv1.AccountEvent, meta consumer.Metadata) error {
	if ev == nil {
		h.events.WithLabelValues(kindUnknown, outcomeRejected).Inc()
		return fmt.Errorf("%w: %w: no event", consumer.ErrPermanent, welcome.ErrInvalidEvent)
	}
	attrs := []any{
		slog.String("user_id", ev.GetUserId()), slog.String("event_id", ev.GetEventId()),
		slog.Int("attempt", meta.Attempt), slog.String("topic", meta.Topic), slog.Int64("offset", meta.Offset),
	}
	m := welcome.AccountMail{UserID: ev.GetUserId(), EventID: ev.GetEventId()}
	var (
		kind     string
		personal *eventsv1.SealedPersonal
	)
	switch k := ev.GetKind().(type) {
	case *eventsv1.AccountEvent_EmailVerificationRequested:
		kind, m.Kind = kindVerificationRequested, mail.VerifyEmail
		m.Email, m.ExpiresAt = k.EmailVerificationRequested.GetEmail(), k.EmailVerificationRequested.GetExpiresAt().AsTime()
		personal = k.EmailVerificationRequested.GetPersonal()
		if err := h.openToken(&m, PurposeEmailVerification, ev, k.EmailVerificationRequested.GetToken()); err != nil {
			h.events.WithLabelValues(kind, outcomeRejected).Inc()
			return err
		}
	case *eventsv1.AccountEvent_PasswordResetRequested:
		kind, m.Kind = kindResetRequested, mail.PasswordReset
		m.Email, m.ExpiresAt = k.PasswordResetRequested.GetEmail(), k.PasswordResetRequested.GetExpiresAt().AsTime()
		personal = k.PasswordResetRequested.GetPersonal()
		if err := h.openToken(&m, PurposePasswordReset, ev, k.PasswordResetRequested.GetToken()); err != nil {
			h.events.WithLabelValues(kind, outcomeRejected).Inc()
			return err
		}
	case *eventsv1.AccountEvent_PasswordChanged:
		kind, m.Kind = kindPasswordChanged, mail.PasswordChanged
		m.Email, personal = k.PasswordChanged.GetEmail(), k.PasswordChanged.GetPersonal()
		switch k.PasswordChanged.GetMethod() {
		case eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_RESET:
			m.Method = welcome.MethodReset
		case eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_CHANGE:
			m.Method = welcome.MethodChange
		}
	case *eventsv1.AccountEvent_UserDeleted:
		return h.forget(ctx, ev, attrs)
	case *eventsv1.AccountEvent_EmailVerified:
		h.events.WithLabelValues(kindEmailVerified, outcomeIgnored).Inc()
		return nil
	default:
		// Unset: a kind added to the schema after this build. The envelope
		// decoded, so the event is sound; it is not ours to mail.
		h.events.WithLabelValues(kindUnknown, outcomeSkipped).Inc()
		h.log.InfoContext(ctx, "account event of a kind this build does not know, skipped", attrs...)
		return nil
	}

	email, err := personalEmail(ctx, h.personal, m.UserID, m.EventID, m.Email, personal)
	switch {
	case errors.Is(err, welcome.ErrErased):
		// The user was deleted after the event was written: its address
		// is gone with its data key, and it wants no mail any more.
		h.events.WithLabelValues(kind, outcomeErased).Inc()
		h.log.InfoContext(ctx, "account mail of an erased user, not sent: its data key is gone", attrs...)
		return nil
	case err != nil:
		outcome, err := classify(err)
		h.events.WithLabelValues(kind, outcome).Inc()
		return err
	}
	m.Email = email

	d, outcome, err := h.m.Send(ctx, m)
	if err != nil {
		outcome, err := classify(err)
		h.events.WithLabelValues(kind, outcome).Inc()
		return err
	}
	attrs = append(attrs, slog.String("mail", string(d.Kind)), slog.String("message_id", d.MessageID))
	if outcome == welcome.Erased {
		h.events.WithLabelValues(kind, outcomeErased).Inc()
		h.log.InfoContext(ctx, "account mail of a deleted user, not sent", attrs...)
		return nil
	}
	if outcome == welcome.AlreadySent {
		h.events.WithLabelValues(kind, outcomeDuplicate).Inc()
		h.log.InfoContext(ctx, "account mail already sent, skipping", attrs...)
		return nil
	}
	h.events.WithLabelValues(kind, outcomeSent).Inc()
	h.log.InfoContext(ctx, "account mail sent", attrs...)
	return nil
}

// forget erases what the notifier keeps about the user of a UserDeleted
// event. A redelivery erases nothing more and succeeds.
func (h *AccountHandler) forget(ctx context.Context, ev *eventsv1.AccountEvent, attrs []any) error {
	if err := h.m.Forget(ctx, ev.GetUserId(), ev.GetEventId()); err != nil {
		outcome, err := classify(err)
		h.events.WithLabelValues(kindUserDeleted, outcome).Inc()
		return err
	}
	h.events.WithLabelValues(kindUserDeleted, outcomeErased).Inc()
	h.log.InfoContext(ctx, "deleted user erased", attrs...)
	return nil
}

// openToken opens sealed into m.Token, bound to purpose and ev's user and
// event. A token that does not open is a permanent failure.
func (h *AccountHandler) openToken(m *welcome.AccountMail, purpose string, ev *eventsv1.AccountEvent, sealed *eventsv1.SealedSecret) error {
	token, err := h.open.Open(sealed, sealbox.AAD(purpose, ev.GetUserId(), ev.GetEventId()))
	if err != nil {
		// sealbox's errors name the key id at most, never the secret.
		return fmt.Errorf("%w: %w: %s token of event %s: %w", consumer.ErrPermanent, welcome.ErrInvalidEvent, purpose, ev.GetEventId(), err)
	}
	m.Token = string(token)
	return nil
}
