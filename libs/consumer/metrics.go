package consumer

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ProcessingBuckets are the buckets, in seconds, of
// kafka_consumer_processing_seconds: from a quick database write to a
// message retried for minutes.
var ProcessingBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// Metrics are the Prometheus metrics of a process's consumers, labelled by
// consumer group and topic:
//
//	kafka_consumer_processed_total{group, topic}              messages handled successfully
//	kafka_consumer_failed_total{group, topic}                 failed handler calls
//	kafka_consumer_retried_total{group, topic, kind}          retries of failed handler calls, by kind (transient, unclassified)
//	kafka_consumer_paused{group, topic}                       1 while the member waits for a dependency, partitions paused
//	kafka_consumer_dead_lettered_total{group, topic, reason}  messages dead-lettered (poison, permanent, exhausted)
//	kafka_consumer_processing_seconds{group, topic}           receipt to success or dead letter, retries included
//	kafka_consumer_lag{group, topic, partition}               high watermark minus committed offset
//
// Register them once per registry and give each consumer its Observer.
type Metrics struct {
	processed    *prometheus.CounterVec
	failed       *prometheus.CounterVec
	retried      *prometheus.CounterVec
	paused       *prometheus.GaugeVec
	deadLettered *prometheus.CounterVec
	seconds      *prometheus.HistogramVec
	lag          *prometheus.GaugeVec
}

// NewMetrics registers the consumer metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	groupTopic := []string{"group", "topic"}
	m := &Metrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kafka_consumer_processed_total",
			Help: "Messages handled successfully; their offsets are committed within the commit interval.",
		}, groupTopic),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kafka_consumer_failed_total",
			Help: "Failed handler calls (errors, panics and timeouts), each retried or dead-lettered.",
		}, groupTopic),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kafka_consumer_retried_total",
			Help: "Retries of failed handler calls, by kind: transient (a dependency is unreachable; retried without limit) or unclassified (retried up to the attempt limit, then dead-lettered).",
		}, []string{"group", "topic", "kind"}),
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kafka_consumer_paused",
			Help: "1 while the member holds a message on a transient failure (a dependency unreachable) with its partitions paused, retrying until the dependency is back; 0 while it consumes.",
		}, groupTopic),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kafka_consumer_dead_lettered_total",
			Help: "Messages written to the dead-letter topic, by reason: poison (not decodable), permanent (the handler refused it), exhausted (every attempt failed).",
		}, []string{"group", "topic", "reason"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kafka_consumer_processing_seconds",
			Help:    "Time from a message's receipt to its success or dead letter, retries and backoff included.",
			Buckets: ProcessingBuckets,
		}, groupTopic),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kafka_consumer_lag",
			Help: "Messages of a partition assigned to this member not yet committed by its group: high watermark minus committed offset.",
		}, []string{"group", "topic", "partition"}),
	}
	for _, c := range []prometheus.Collector{m.processed, m.failed, m.retried, m.paused, m.deadLettered, m.seconds, m.lag} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("consumer metrics: %w", err)
		}
	}
	return m, nil
}

// Observer returns the Observer for the consumer of group on topic (set it
// as Config.Observer). Its counters exist, at zero, from now on, so that
// rates and alerts see them before the first message.
func (m *Metrics) Observer(group, topic string) Observer {
	m.processed.WithLabelValues(group, topic)
	m.failed.WithLabelValues(group, topic)
	m.retried.WithLabelValues(group, topic, KindTransient)
	m.retried.WithLabelValues(group, topic, KindUnclassified)
	m.paused.WithLabelValues(group, topic).Set(0)
	for _, r := range []string{ReasonPoison, ReasonPermanent, ReasonExhausted} {
		m.deadLettered.WithLabelValues(group, topic, r)
	}
	m.seconds.WithLabelValues(group, topic)
	return &metricsObserver{m: m, group: group, lagged: map[string]map[int32]bool{}}
}

// metricsObserver is the Observer of one consumer group.
type metricsObserver struct {
	m     *Metrics
	group string

	mu     sync.Mutex
	lagged map[string]map[int32]bool // topic -> partitions with a lag series
}

func (o *metricsObserver) Processed(topic, outcome string, d time.Duration) {
	switch outcome {
	case OutcomeSuccess:
		o.m.processed.WithLabelValues(o.group, topic).Inc()
	case OutcomeDeadLettered:
	default:
		return // interrupted: the message is not done with
	}
	o.m.seconds.WithLabelValues(o.group, topic).Observe(d.Seconds())
}

func (o *metricsObserver) Failed(topic string) {
	o.m.failed.WithLabelValues(o.group, topic).Inc()
}

func (o *metricsObserver) Retried(topic, kind string) {
	o.m.retried.WithLabelValues(o.group, topic, kind).Inc()
}

func (o *metricsObserver) Paused(topic string, paused bool) {
	v := 0.0
	if paused {
		v = 1
	}
	o.m.paused.WithLabelValues(o.group, topic).Set(v)
}

func (o *metricsObserver) DeadLettered(topic, reason string) {
	o.m.deadLettered.WithLabelValues(o.group, topic, reason).Inc()
}

// Lag sets the lag series of the partitions in lag and deletes those of
// partitions no longer assigned, which another member now reports: a sum
// over the group counts each partition once.
func (o *metricsObserver) Lag(topic string, lag map[int32]int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	prev := o.lagged[topic]
	now := make(map[int32]bool, len(lag))
	for p, n := range lag {
		o.m.lag.WithLabelValues(o.group, topic, strconv.Itoa(int(p))).Set(float64(n))
		now[p] = true
	}
	for p := range prev {
		if !now[p] {
			o.m.lag.DeleteLabelValues(o.group, topic, strconv.Itoa(int(p)))
		}
	}
	o.lagged[topic] = now
}
