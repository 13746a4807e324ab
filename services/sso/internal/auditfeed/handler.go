package auditfeed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/outbox"
)

// Store keeps the log: Insert stores an entry once per id and reports
// whether this call stored it. An error wrapping audit.ErrUnavailable is an
// outage.
type Store interface {
	Insert(ctx context.Context, e audit.Entry) (bool, error)
}

// Results of an event, the result label of sso_audit_ingested_total.
const (
	resultStored    = "stored"
	resultDuplicate = "duplicate"
	resultRejected  = "rejected"
	resultFailed    = "failed"
)

// Handler stores AuditEvents.
type Handler struct {
	store    Store
	log      *slog.Logger
	events   *prometheus.CounterVec
	ingested *prometheus.CounterVec
	lag      prometheus.Histogram
}

// NewHandler returns a Handler storing into store, with its metrics
// registered on reg:
//
//	sso_audit_events_total{action}     entries stored in the log, once per event id
//	sso_audit_ingested_total{result}   events handled: stored, duplicate (stored before),
//	                                   rejected (invalid: dead-lettered), failed (retried)
//	sso_audit_ingest_delay_seconds     from the event's occurrence to its storage
func NewHandler(store Store, reg prometheus.Registerer, log *slog.Logger) (*Handler, error) {
	h := &Handler{
		store: store,
		log:   log,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sso_audit_events_total",
			Help: "Audit entries stored in the audit log by action (admin_user_disabled, admin_user_enabled, role_granted, role_revoked, sessions_revoked, user_deleted, login_failure_burst, refresh_token_reuse, password_reset, password_changed), once per event id.",
		}, []string{"action"}),
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sso_audit_ingested_total",
			Help: "Audit events consumed from the audit topic by result: stored, duplicate (a redelivery, stored before), rejected (invalid, dead-lettered), failed (the store failed; retried).",
		}, []string{"result"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sso_audit_ingest_delay_seconds",
			Help:    "Time from an audit event's occurrence to its storage in the audit log: outbox, Kafka and consumer together.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900},
		}),
	}
	for _, a := range audit.Actions {
		h.events.WithLabelValues(string(a))
	}
	for _, r := range []string{resultStored, resultDuplicate, resultRejected, resultFailed} {
		h.ingested.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{h.events, h.ingested, h.lag} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("audit metrics: %w", err)
		}
	}
	return h, nil
}

// AuditEvent is the consumer.Handler of the audit topic.
func (h *Handler) AuditEvent(ctx context.Context, ev *eventsv1.AuditEvent, _ consumer.Metadata) error {
	e := outbox.AuditEntry(ev)
	if err := valid(e); err != nil {
		h.ingested.WithLabelValues(resultRejected).Inc()
		h.log.WarnContext(ctx, "audit event rejected", slog.String("event_id", e.ID), slog.Any("error", err))
		return fmt.Errorf("%w: audit event %q: %w", consumer.ErrPermanent, e.ID, err)
	}
	stored, err := h.store.Insert(ctx, e)
	if err != nil {
		h.ingested.WithLabelValues(resultFailed).Inc()
		if errors.Is(err, audit.ErrUnavailable) {
			return fmt.Errorf("%w: %w", consumer.ErrTransient, err)
		}
		return err
	}
	if !stored {
		h.ingested.WithLabelValues(resultDuplicate).Inc()
		return nil
	}
	h.ingested.WithLabelValues(resultStored).Inc()
	h.events.WithLabelValues(string(e.Action)).Inc()
	h.lag.Observe(max(0, time.Since(e.OccurredAt).Seconds()))
	return nil
}

// valid refuses what the log cannot store as it is: an event without an id
// or time, or ids that are not UUIDs. An action or kind newer than this
// build is stored as its number.
func valid(e audit.Entry) error {
	if !canonicalUUID(e.ID) {
		return errors.New("event_id is not a UUID")
	}
	if e.OccurredAt.Unix() <= 0 {
		return errors.New("occurred_at is missing")
	}
	if e.Action == "" {
		return errors.New("action is missing")
	}
	for name, id := range map[string]string{"actor_user_id": e.Actor.ID, "target_user_id": e.TargetID} {
		if id == "" {
			continue
		}
		if !canonicalUUID(id) {
			return fmt.Errorf("%s is not a UUID", name)
		}
	}
	if len(e.ClientAddress) > 64 || len(e.TraceID) > 32 {
		return errors.New("client_address or trace_id too long")
	}
	return nil
}

// canonicalUUID reports whether s is a UUID in its canonical form, the one
// sso writes and the store's UUID columns give back.
func canonicalUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}
