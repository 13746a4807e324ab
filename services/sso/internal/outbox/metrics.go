package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
)

// Label values of sso_outbox_deliveries_total.
const (
	deliverySuccess = "success"
	deliveryFailure = "failure"
)

// Metrics counts the relay's publishes: sso_outbox_deliveries_total{outcome},
// success for each delivery report that the broker took the event, failure
// for each publish that failed (the Schema Registry or Kafka unreachable,
// the delivery timing out). A failed event is retried, so one event can
// count several failures before its success. The failures are counted
// once more by event type in sso_outbox_publish_failures_total{event_type},
// so an alert can watch the events whose delay matters most (UserDeleted:
// an erasure that does not reach the other services).
type Metrics struct {
	deliveries *prometheus.CounterVec
	byType     *prometheus.CounterVec
}

// NewMetrics registers the relay's metrics on reg, both outcomes at zero.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sso_outbox_deliveries_total",
			Help: "Outbox event publishes by outcome: success (acknowledged by Kafka), failure (to be retried).",
		}, []string{"outcome"}),
		byType: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sso_outbox_publish_failures_total",
			Help: "Failed outbox publishes by event_type (UserRegistered, the AccountEvent kinds such as UserDeleted, AuditEvent); each is retried.",
		}, []string{"event_type"}),
	}
	m.deliveries.WithLabelValues(deliverySuccess)
	m.deliveries.WithLabelValues(deliveryFailure)
	for t := range eventTypes {
		m.byType.WithLabelValues(t)
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.byType} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("outbox metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) delivered(n int) {
	if m != nil {
		m.deliveries.WithLabelValues(deliverySuccess).Add(float64(n))
	}
}

func (m *Metrics) failed(eventType string) {
	if m != nil {
		m.deliveries.WithLabelValues(deliveryFailure).Inc()
		if eventType == "" {
			eventType = EventUserRegistered
		}
		m.byType.WithLabelValues(eventType).Inc()
	}
}

// Option configures NewRelay.
type Option func(*Relay)

// WithMetrics makes the Relay count its deliveries on m.
func WithMetrics(m *Metrics) Option {
	return func(r *Relay) { r.metrics = m }
}

// backlogQuery measures the rows not yet delivered from the partial index
// outbox_pending_idx, so its cost follows the backlog, not the table.
const backlogQuery = `SELECT count(*) AS pending,
		COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest_seconds
	FROM outbox WHERE status <> 'successful'`

// BacklogFunc measures the outbox backlog: how many events are not yet
// delivered and how long the oldest of them has waited.
type BacklogFunc func(ctx context.Context) (pending int64, oldest time.Duration, err error)

// QueryBacklog returns the BacklogFunc that asks the outbox table of db.
func QueryBacklog(db *sqlx.DB) BacklogFunc {
	return func(ctx context.Context) (int64, time.Duration, error) {
		var row struct {
			Pending int64   `db:"pending"`
			Oldest  float64 `db:"oldest_seconds"`
		}
		if err := db.GetContext(ctx, &row, backlogQuery); err != nil {
			return 0, 0, fmt.Errorf("outbox: measure backlog: %w", err)
		}
		return row.Pending, time.Duration(row.Oldest * float64(time.Second)), nil
	}
}

// Backlog is a prometheus.Collector of the outbox backlog, the numbers the
// outbox alerts watch:
//
//	sso_outbox_pending_events              events not yet delivered (status inProgress or failed)
//	sso_outbox_oldest_pending_age_seconds  how long the oldest of them has waited; 0 when none
//
// They describe the whole table, so every sso replica reports the same
// values. A scrape measures at most once per maxAge and serves the cached
// numbers in between, so scrapes stay cheap however many there are. When
// a measurement fails (the database is down), both gauges are left out of
// the scrape rather than reported stale, and the failure is logged once
// until a measurement succeeds again.
type Backlog struct {
	measure BacklogFunc
	maxAge  time.Duration
	timeout time.Duration
	log     *slog.Logger
	now     func() time.Time

	pendingDesc *prometheus.Desc
	oldestDesc  *prometheus.Desc

	mu      sync.Mutex
	at      time.Time // of the last measurement; zero before the first
	pending int64
	oldest  time.Duration
	err     error
}

// Defaults of NewBacklog.
const (
	DefaultBacklogMaxAge  = 5 * time.Second
	DefaultBacklogTimeout = 2 * time.Second
)

// NewBacklog returns a Backlog measuring with measure, at most once per
// maxAge, each measurement bounded by timeout (zero values: the defaults),
// registered on reg.
func NewBacklog(reg prometheus.Registerer, measure BacklogFunc, maxAge, timeout time.Duration, log *slog.Logger) (*Backlog, error) {
	if maxAge <= 0 {
		maxAge = DefaultBacklogMaxAge
	}
	if timeout <= 0 {
		timeout = DefaultBacklogTimeout
	}
	b := &Backlog{
		measure: measure,
		maxAge:  maxAge,
		timeout: timeout,
		log:     log.With(slog.String("component", "outbox")),
		now:     time.Now,
		pendingDesc: prometheus.NewDesc("sso_outbox_pending_events",
			"Outbox events not yet delivered to Kafka (status inProgress or failed), in the whole table.", nil, nil),
		oldestDesc: prometheus.NewDesc("sso_outbox_oldest_pending_age_seconds",
			"Age of the oldest outbox event not yet delivered to Kafka; 0 when there is none.", nil, nil),
	}
	if err := reg.Register(b); err != nil {
		return nil, fmt.Errorf("outbox backlog metrics: %w", err)
	}
	return b, nil
}

// Describe implements prometheus.Collector.
func (b *Backlog) Describe(ch chan<- *prometheus.Desc) {
	ch <- b.pendingDesc
	ch <- b.oldestDesc
}

// Collect implements prometheus.Collector.
func (b *Backlog) Collect(ch chan<- prometheus.Metric) {
	pending, oldest, err := b.current()
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(b.pendingDesc, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(b.oldestDesc, prometheus.GaugeValue, oldest.Seconds())
}

// current returns the cached measurement, measuring again when it is older
// than maxAge. Concurrent scrapes wait for one measurement.
func (b *Backlog) current() (int64, time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.at.IsZero() && b.now().Sub(b.at) < b.maxAge {
		return b.pending, b.oldest, b.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	pending, oldest, err := b.measure(ctx)
	switch {
	case err != nil && b.err == nil:
		b.log.Warn("outbox backlog metrics unavailable", slog.Any("error", err))
	case err == nil && b.err != nil:
		b.log.Info("outbox backlog metrics available again")
	}
	b.at, b.pending, b.oldest, b.err = b.now(), pending, oldest, err
	return pending, oldest, err
}
