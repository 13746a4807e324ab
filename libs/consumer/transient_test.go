package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/kafkatest"
)

// TestTransientFailuresAreRetriedUntilTheDependencyIsBack holds the first
// message on a dependency that stays down for far more attempts than
// MaxAttempts allows, and for several seconds: it is not dead-lettered, it
// succeeds once the dependency is back, and the messages behind it are then
// handled once each, in order (the partition was paused meanwhile, and what
// had been fetched before the pause was not lost).
func TestTransientFailuresAreRetriedUntilTheDependencyIsBack(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name string
		err  error
	}{
		{"marked transient", fmt.Errorf("%w: postgres: connection refused", consumer.ErrTransient)},
		{"network error", fmt.Errorf("smtp connect: %w", refused)},
		{"handler timeout", context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			first, second, third := event(1), event(2), event(3)
			for _, ev := range []*eventsv1.UserRegistered{first, second, third} {
				h.produceEvent(ev)
			}
			cfg := h.config() // MaxAttempts 3, backoff 10..40ms
			const outageAttempts = 30
			outage := 3 * time.Second
			var down time.Time

			got := newCalls()
			h.start(cfg, func(ctx context.Context, e *eventsv1.UserRegistered, meta consumer.Metadata) error {
				got.add(ctx, e, meta)
				if e.UserId != first.UserId {
					return nil
				}
				if meta.Attempt == 1 {
					down = time.Now()
				}
				if meta.Attempt < outageAttempts || time.Since(down) < outage {
					return tt.err
				}
				return nil
			})
			h.waitCommitted(3)
			attempts := got.attemptsFor(first.UserId)
			if len(attempts) < outageAttempts || attempts[len(attempts)-1] != len(attempts) {
				t.Errorf("first message handled %d times (last attempt %v), want at least %d, numbered 1..n",
					len(attempts), attempts[len(attempts)-1:], outageAttempts)
			}
			for _, ev := range []*eventsv1.UserRegistered{second, third} {
				if a := got.attemptsFor(ev.UserId); !slices.Equal(a, []int{1}) {
					t.Errorf("attempts for %s = %v, want [1]", ev.UserId, a)
				}
			}
			got.mu.Lock()
			var order []string
			for _, c := range got.list {
				if len(order) == 0 || order[len(order)-1] != c.event.UserId {
					order = append(order, c.event.UserId)
				}
			}
			got.mu.Unlock()
			if want := []string{first.UserId, second.UserId, third.UserId}; !slices.Equal(order, want) {
				t.Errorf("handled in order %v, want %v", order, want)
			}

			h.obs.awaitProcessed(t, 3)
			processed, retried, dead := h.obs.snapshot()
			if len(dead) != 0 || !slices.Equal(processed, []string{consumer.OutcomeSuccess, consumer.OutcomeSuccess, consumer.OutcomeSuccess}) {
				t.Errorf("observer saw processed=%v dead-lettered=%v, want 3 successes and no dead letter", processed, dead)
			}
			if retried != len(attempts)-1 {
				t.Errorf("retries = %d, want %d", retried, len(attempts)-1)
			}
			for _, k := range h.obs.kinds() {
				if k != consumer.KindTransient {
					t.Fatalf("retry kinds = %v, want only %s", h.obs.kinds(), consumer.KindTransient)
				}
			}
			if paused, n := h.obs.pausedNow(); paused || n < 2 {
				t.Errorf("paused gauge last set to %v after %d calls, want set and then cleared", paused, n)
			}
		})
	}
}

// TestUnclassifiedFailuresAreBounded: an error the handler did not
// classify, and a panic, may be bugs no wait cures, so they use up
// MaxAttempts and are dead-lettered; transient failures in between do not
// count.
func TestUnclassifiedFailuresAreBounded(t *testing.T) {
	h := newHarness(t)
	bad, good := event(1), event(2)
	h.produceEvent(bad)
	h.produceEvent(good)

	got := newCalls()
	h.start(h.config(), func(ctx context.Context, e *eventsv1.UserRegistered, meta consumer.Metadata) error {
		got.add(ctx, e, meta)
		if e.UserId != bad.UserId {
			return nil
		}
		switch meta.Attempt {
		case 1:
			return errors.New("unexpected column")
		case 2, 3, 4:
			return fmt.Errorf("%w: database restarting", consumer.ErrTransient)
		case 5:
			panic("nil map")
		}
		return errors.New("unexpected column")
	})
	h.waitCommitted(2)
	if a := got.attemptsFor(bad.UserId); !slices.Equal(a, []int{1, 2, 3, 4, 5, 6}) {
		t.Errorf("attempts = %v, want 1..6: three unclassified failures, three transient ones between", a)
	}
	h.obs.awaitProcessed(t, 2)
	_, _, dead := h.obs.snapshot()
	if !slices.Equal(dead, []string{consumer.ReasonExhausted}) {
		t.Errorf("dead-lettered = %v, want [exhausted]", dead)
	}
	want := []string{consumer.KindUnclassified, consumer.KindTransient, consumer.KindTransient, consumer.KindTransient, consumer.KindUnclassified}
	if k := h.obs.kinds(); !slices.Equal(k, want) {
		t.Errorf("retry kinds = %v, want %v", k, want)
	}
	if dlq := h.readTopic(consumer.DefaultDeadLetterTopic(h.topic, h.group), 1)[0]; header(dlq, consumer.HeaderAttempts) != "6" {
		t.Errorf("dlq.attempts = %q, want 6", header(dlq, consumer.HeaderAttempts))
	}
}

// TestPausedMemberHoldsEveryPartitionAndLosesNothing uses a topic of three
// partitions: while one message waits for its dependency, the member
// consumes nothing from any partition (what it had fetched already is
// handed back), and once the dependency is back every message is handled
// exactly once, each partition in order.
func TestPausedMemberHoldsEveryPartitionAndLosesNothing(t *testing.T) {
	h := newHarness(t)
	h.topic = testenv.Name(t, "consumer3")
	res, err := h.admin.CreateTopics(h.ctx, []kafka.TopicSpecification{{Topic: h.topic, NumPartitions: 3, ReplicationFactor: 1}})
	if err != nil || res[0].Error.Code() != kafka.ErrNoError {
		t.Fatalf("create topic: %v %v", err, res)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = h.admin.DeleteTopics(ctx, []string{h.topic})
	})
	// Three messages per partition; the first of partition 0 meets the
	// outage.
	const perPartition = 3
	var evs []*eventsv1.UserRegistered
	for p := range int32(3) {
		for i := range perPartition {
			ev := event(int(p)*10 + i)
			evs = append(evs, ev)
			value, err := h.ser.Serialize(h.topic, ev)
			if err != nil {
				t.Fatal(err)
			}
			m := h.message([]byte(ev.UserId), value)
			m.TopicPartition.Partition = p
			h.produce(m)
		}
	}
	blocked := evs[0]

	var down atomic.Bool
	down.Store(true)
	firstFailure := make(chan struct{})
	var once sync.Once
	got := newCalls()
	h.start(h.config(), func(ctx context.Context, e *eventsv1.UserRegistered, meta consumer.Metadata) error {
		got.add(ctx, e, meta)
		if e.UserId == blocked.UserId && down.Load() {
			once.Do(func() { close(firstFailure) })
			return fmt.Errorf("%w: database down", consumer.ErrTransient)
		}
		return nil
	})
	select {
	case <-firstFailure:
	case <-time.After(30 * time.Second):
		t.Fatal("the blocked message was never handled")
	}
	// Thirty tries give the member ample time to fetch, and hand back,
	// what the other partitions hold; it must handle none of it meanwhile.
	if !testenv.Eventually(30*time.Second, 10*time.Millisecond, func() bool { return len(got.attemptsFor(blocked.UserId)) >= 30 }) {
		t.Fatal("the blocked message was not retried")
	}
	got.mu.Lock()
	first := slices.IndexFunc(got.list, func(c call) bool { return c.event.UserId == blocked.UserId })
	for _, c := range got.list[first:] {
		if c.event.UserId != blocked.UserId {
			t.Errorf("message %s was handled while the member waited for the dependency", c.event.UserId)
		}
	}
	got.mu.Unlock()
	down.Store(false)

	var lag int64
	if !testenv.Eventually(30*time.Second, 100*time.Millisecond, func() bool {
		lag, err = kafkatest.Lag(h.ctx, h.admin, h.group, h.topic)
		return err == nil && lag == 0
	}) {
		t.Fatalf("lag = %d (%v), want every message committed", lag, err)
	}
	for i, ev := range evs {
		a := got.attemptsFor(ev.UserId)
		switch {
		case ev == blocked:
			if len(a) < 2 {
				t.Errorf("blocked message handled %v, want retried", a)
			}
		case !slices.Equal(a, []int{1}):
			t.Errorf("message %d handled %v, want exactly once", i, a)
		}
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	// Each partition in order.
	last := map[int32]int64{}
	for _, c := range got.list {
		if c.event.UserId == blocked.UserId {
			continue
		}
		if prev, ok := last[c.meta.Partition]; ok && c.meta.Offset <= prev {
			t.Errorf("partition %d: offset %d handled after %d", c.meta.Partition, c.meta.Offset, prev)
		}
		last[c.meta.Partition] = c.meta.Offset
	}
}

// TestOutageLongerThanThePollLimitKeepsTheMember holds a message on a
// transient failure for longer than max.poll.interval.ms (lowered to 7s
// here; the group's session timeout with it): the member keeps polling
// while it waits, so it is not evicted from its group, keeps its
// partition, and handles the message once the dependency is back, its
// attempts counted on from one call to the next, not restarted by a
// redelivery.
func TestOutageLongerThanThePollLimitKeepsTheMember(t *testing.T) {
	h := newHarness(t)
	ev := event(1)
	h.produceEvent(ev)
	const limit = 7 * time.Second
	cfg := consumer.WithPollLimit(h.config(), limit)
	cfg.InitialBackoff, cfg.MaxBackoff = 100*time.Millisecond, time.Second

	var since time.Time
	got := newCalls()
	h.start(cfg, func(ctx context.Context, e *eventsv1.UserRegistered, meta consumer.Metadata) error {
		got.add(ctx, e, meta)
		if meta.Attempt == 1 {
			since = time.Now()
		}
		if time.Since(since) < 2*limit {
			return fmt.Errorf("%w: mail server unreachable", consumer.ErrTransient)
		}
		return nil
	})
	h.waitCommitted(1)
	attempts := got.attemptsFor(ev.UserId)
	for i, a := range attempts {
		if a != i+1 {
			t.Fatalf("attempts = %v, want 1..n without a restart (a restart means the message was redelivered)", attempts)
		}
	}
	h.obs.awaitProcessed(t, 1)
	if processed, _, dead := h.obs.snapshot(); !slices.Equal(processed, []string{consumer.OutcomeSuccess}) || len(dead) != 0 {
		t.Errorf("observer saw processed=%v dead-lettered=%v, want one success", processed, dead)
	}
}

// TestRebalanceWhilePaused starts a second member while the first holds a
// message on an outage: the first keeps answering the group (it polls while
// it waits), so the rebalance completes with a partition for each member
// during the outage. Whoever owns the held message's partition then handles
// it once the dependency is back; nothing is dead-lettered or left behind.
func TestRebalanceWhilePaused(t *testing.T) {
	h := newHarness(t)
	h.topic = testenv.Name(t, "consumer2")
	res, err := h.admin.CreateTopics(h.ctx, []kafka.TopicSpecification{{Topic: h.topic, NumPartitions: 2, ReplicationFactor: 1}})
	if err != nil || res[0].Error.Code() != kafka.ErrNoError {
		t.Fatalf("create topic: %v %v", err, res)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = h.admin.DeleteTopics(ctx, []string{h.topic})
	})
	var evs []*eventsv1.UserRegistered
	for p := range int32(2) {
		for i := range 2 {
			ev := event(int(p)*10 + i)
			evs = append(evs, ev)
			value, err := h.ser.Serialize(h.topic, ev)
			if err != nil {
				t.Fatal(err)
			}
			m := h.message([]byte(ev.UserId), value)
			m.TopicPartition.Partition = p
			h.produce(m)
		}
	}
	blocked := evs[0]
	var down atomic.Bool
	down.Store(true)
	got := newCalls()
	handle := func(ctx context.Context, e *eventsv1.UserRegistered, meta consumer.Metadata) error {
		got.add(ctx, e, meta)
		if e.UserId == blocked.UserId && down.Load() {
			return fmt.Errorf("%w: database down", consumer.ErrTransient)
		}
		return nil
	}
	h.start(h.config(), handle)
	if !testenv.Eventually(30*time.Second, 10*time.Millisecond, func() bool { return len(got.attemptsFor(blocked.UserId)) >= 3 }) {
		t.Fatal("the blocked message was not retried")
	}
	h.start(h.config(), handle)

	// Both members own a partition while the outage lasts.
	var members []kafka.MemberDescription
	if !testenv.Eventually(45*time.Second, 200*time.Millisecond, func() bool {
		d, err := h.admin.DescribeConsumerGroups(h.ctx, []string{h.group})
		if err != nil || len(d.ConsumerGroupDescriptions) != 1 {
			return false
		}
		g := d.ConsumerGroupDescriptions[0]
		members = g.Members
		if g.State != kafka.ConsumerGroupStateStable || len(members) != 2 {
			return false
		}
		for _, m := range members {
			if len(m.Assignment.TopicPartitions) != 1 {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("the group did not settle on one partition per member during the outage: %+v", members)
	}
	if !down.Load() {
		t.Fatal("unreachable")
	}
	down.Store(false)

	var lag int64
	if !testenv.Eventually(30*time.Second, 100*time.Millisecond, func() bool {
		lag, err = kafkatest.Lag(h.ctx, h.admin, h.group, h.topic)
		return err == nil && lag == 0
	}) {
		t.Fatalf("lag = %d (%v), want every message committed", lag, err)
	}
	processed, _, dead := h.obs.snapshot()
	if len(dead) != 0 {
		t.Errorf("dead-lettered %v, want nothing", dead)
	}
	successes := 0
	for _, o := range processed {
		switch o {
		case consumer.OutcomeSuccess:
			successes++
		case consumer.OutcomeRevoked: // the held partition moved to the new member
		default:
			t.Errorf("outcome %s, want success or revoked", o)
		}
	}
	if successes < len(evs) {
		t.Errorf("%d successes, want at least %d (outcomes %v)", successes, len(evs), processed)
	}
	for _, ev := range evs {
		if len(got.attemptsFor(ev.UserId)) == 0 {
			t.Errorf("event %s never handled", ev.UserId)
		}
	}
}
