package consumer_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ssokit/platform/libs/consumer"
)

func TestMetricsObserver(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := consumer.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	obs := m.Observer("welcome-notifier", "user.registered")
	other := m.Observer("loyalty-points", "user.registered")

	// Before any message, every counter exists at zero.
	const counters = `
# HELP kafka_consumer_dead_lettered_total Messages written to the dead-letter topic, by reason: poison (not decodable), permanent (the handler refused it), exhausted (every attempt failed).
# TYPE kafka_consumer_dead_lettered_total counter
kafka_consumer_dead_lettered_total{group="loyalty-points",reason="exhausted",topic="user.registered"} 0
kafka_consumer_dead_lettered_total{group="loyalty-points",reason="permanent",topic="user.registered"} 0
kafka_consumer_dead_lettered_total{group="loyalty-points",reason="poison",topic="user.registered"} 0
kafka_consumer_dead_lettered_total{group="welcome-notifier",reason="exhausted",topic="user.registered"} %d
kafka_consumer_dead_lettered_total{group="welcome-notifier",reason="permanent",topic="user.registered"} 0
kafka_consumer_dead_lettered_total{group="welcome-notifier",reason="poison",topic="user.registered"} %d
# HELP kafka_consumer_failed_total Failed handler calls (errors, panics and timeouts), each retried or dead-lettered.
# TYPE kafka_consumer_failed_total counter
kafka_consumer_failed_total{group="loyalty-points",topic="user.registered"} 0
kafka_consumer_failed_total{group="welcome-notifier",topic="user.registered"} %d
# HELP kafka_consumer_processed_total Messages handled successfully; their offsets are committed within the commit interval.
# TYPE kafka_consumer_processed_total counter
kafka_consumer_processed_total{group="loyalty-points",topic="user.registered"} 0
kafka_consumer_processed_total{group="welcome-notifier",topic="user.registered"} %d
# HELP kafka_consumer_paused 1 while the member holds a message on a transient failure (a dependency unreachable) with its partitions paused, retrying until the dependency is back; 0 while it consumes.
# TYPE kafka_consumer_paused gauge
kafka_consumer_paused{group="loyalty-points",topic="user.registered"} 0
kafka_consumer_paused{group="welcome-notifier",topic="user.registered"} %d
# HELP kafka_consumer_retried_total Retries of failed handler calls, by kind: transient (a dependency is unreachable; retried without limit) or unclassified (retried up to the attempt limit, then dead-lettered).
# TYPE kafka_consumer_retried_total counter
kafka_consumer_retried_total{group="loyalty-points",kind="transient",topic="user.registered"} 0
kafka_consumer_retried_total{group="loyalty-points",kind="unclassified",topic="user.registered"} 0
kafka_consumer_retried_total{group="welcome-notifier",kind="transient",topic="user.registered"} %d
kafka_consumer_retried_total{group="welcome-notifier",kind="unclassified",topic="user.registered"} %d
`
	names := []string{"kafka_consumer_dead_lettered_total", "kafka_consumer_failed_total",
		"kafka_consumer_processed_total", "kafka_consumer_paused", "kafka_consumer_retried_total"}
	expect := func(exhausted, poison, failed, processed, paused, transient, unclassified int) string {
		return fmt.Sprintf(counters, exhausted, poison, failed, processed, paused, transient, unclassified)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expect(0, 0, 0, 0, 0, 0, 0)), names...); err != nil {
		t.Fatal(err)
	}

	// One message succeeds after two transient failures, one is
	// dead-lettered after two unclassified failures, a poison message is
	// dead-lettered at once, and one is interrupted by shutdown.
	obs.Failed("user.registered")
	obs.Retried("user.registered", consumer.KindTransient)
	obs.Paused("user.registered", true)
	obs.Failed("user.registered")
	obs.Retried("user.registered", consumer.KindTransient)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expect(0, 0, 2, 0, 1, 2, 0)), names...); err != nil {
		t.Fatal(err)
	}
	obs.Paused("user.registered", false)
	obs.Processed("user.registered", consumer.OutcomeSuccess, 300*time.Millisecond)
	obs.Failed("user.registered")
	obs.Retried("user.registered", consumer.KindUnclassified)
	obs.Failed("user.registered")
	obs.DeadLettered("user.registered", consumer.ReasonExhausted)
	obs.Processed("user.registered", consumer.OutcomeDeadLettered, 2*time.Second)
	obs.DeadLettered("user.registered", consumer.ReasonPoison)
	obs.Processed("user.registered", consumer.OutcomeDeadLettered, time.Millisecond)
	obs.Processed("user.registered", consumer.OutcomeInterrupted, time.Minute)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expect(1, 1, 4, 1, 0, 2, 1)), names...); err != nil {
		t.Fatal(err)
	}
	// Successes and dead letters are timed; the interruption is not.
	if n := histogramCount(t, reg, "kafka_consumer_processing_seconds", "welcome-notifier"); n != 3 {
		t.Errorf("processing durations observed = %d, want 3", n)
	}
	if n := histogramCount(t, reg, "kafka_consumer_processing_seconds", "loyalty-points"); n != 0 {
		t.Errorf("other group's durations = %d, want 0", n)
	}

	// Lag: a partition handed to another member loses its series.
	obs.Lag("user.registered", map[int32]int64{0: 5, 1: 2})
	other.Lag("user.registered", map[int32]int64{2: 7})
	obs.Lag("user.registered", map[int32]int64{1: 3})
	const lag = `
# HELP kafka_consumer_lag Messages of a partition assigned to this member not yet committed by its group: high watermark minus committed offset.
# TYPE kafka_consumer_lag gauge
kafka_consumer_lag{group="loyalty-points",partition="2",topic="user.registered"} 7
kafka_consumer_lag{group="welcome-notifier",partition="1",topic="user.registered"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(lag), "kafka_consumer_lag"); err != nil {
		t.Fatal(err)
	}
	obs.Lag("user.registered", map[int32]int64{})
	if n := testutil.CollectAndCount(reg, "kafka_consumer_lag"); n != 1 {
		t.Errorf("%d lag series after the member stopped, want only the other group's", n)
	}

	var already prometheus.AlreadyRegisteredError
	if _, err := consumer.NewMetrics(reg); !errors.As(err, &already) {
		t.Errorf("second NewMetrics on one registry: err = %v, want AlreadyRegisteredError", err)
	}
}

func histogramCount(t *testing.T, g prometheus.Gatherer, name, group string) uint64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "group" && l.GetValue() == group {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}
