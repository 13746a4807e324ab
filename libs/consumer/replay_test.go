package consumer_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/consumer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/kafkatest"
)

// TestReplayMovesDeadLettersBackToTheSourceTopic dead-letters three events
// while a handler refuses them, fixes the handler, and replays: a dry run
// moves nothing, a limited run moves that many, the next run the rest, and
// the running consumer then handles each event once more, with its original
// key and headers and no dlq.* header but the replay count. The replay
// group's offsets on the dead-letter topic end at its end.
func TestReplayMovesDeadLettersBackToTheSourceTopic(t *testing.T) {
	h := newHarness(t)
	h.groups = append(h.groups, consumer.ReplayGroup(h.group))
	dlqTopic := consumer.DefaultDeadLetterTopic(h.topic, h.group)
	evs := []*eventsv1.UserRegistered{event(1), event(2), event(3)}
	for _, ev := range evs {
		h.produceEvent(ev)
	}

	var fixed atomic.Bool
	got := newCalls()
	h.start(h.config(), func(ctx context.Context, e *eventsv1.UserRegistered, meta consumer.Metadata) error {
		got.add(ctx, e, meta)
		if !fixed.Load() {
			return fmt.Errorf("%w: template refuses this name", consumer.ErrPermanent)
		}
		return nil
	})
	h.waitCommitted(3)
	h.obs.awaitProcessed(t, 3)
	replayLag := func() int64 {
		t.Helper()
		n, err := kafkatest.Lag(h.ctx, h.admin, consumer.ReplayGroup(h.group), dlqTopic)
		if err != nil {
			t.Fatalf("replay group lag: %v", err)
		}
		return n
	}
	if n := replayLag(); n != 3 {
		t.Fatalf("dead letters not replayed = %d, want 3", n)
	}
	fixed.Store(true)

	replay := func(limit int, dryRun bool) consumer.ReplayResult {
		t.Helper()
		res, err := consumer.Replay(h.ctx, consumer.ReplayConfig{
			Brokers: testenv.KafkaBrokers, GroupID: h.group, Topic: h.topic, Limit: limit, DryRun: dryRun,
		}, testLogger(t))
		if err != nil {
			t.Fatalf("Replay(limit %d, dry run %v): %v", limit, dryRun, err)
		}
		return res
	}
	if res := replay(0, true); res.Moved != 3 || res.Left != 0 {
		t.Errorf("dry run = %+v, want 3 found", res)
	}
	if n := replayLag(); n != 3 {
		t.Errorf("after the dry run %d dead letters are left, want all 3", n)
	}
	if res := replay(2, false); res.Moved != 2 || res.Left != 1 {
		t.Errorf("replay with limit 2 = %+v, want 2 moved, 1 left", res)
	}
	if n := replayLag(); n != 1 {
		t.Errorf("after replaying 2, %d dead letters are left, want 1", n)
	}
	if res := replay(0, false); res.Moved != 1 || res.Left != 0 {
		t.Errorf("second replay = %+v, want the last one moved", res)
	}
	if n := replayLag(); n != 0 {
		t.Errorf("after replaying all, %d dead letters are left, want 0", n)
	}
	if res := replay(0, false); res.Moved != 0 {
		t.Errorf("third replay moved %d, want 0", res.Moved)
	}

	// The consumer handles each event a second time, from the source topic.
	h.waitCommitted(6)
	for _, ev := range evs {
		var replayed *call
		if !testenv.Eventually(10*time.Second, 20*time.Millisecond, func() bool {
			got.mu.Lock()
			defer got.mu.Unlock()
			for i, c := range got.list {
				if c.event.UserId == ev.UserId && c.meta.Offset >= 3 {
					replayed = &got.list[i]
				}
			}
			return replayed != nil
		}) {
			t.Fatalf("event %s was not handled again after the replay", ev.UserId)
		}
		if string(replayed.meta.Key) != ev.UserId || replayed.meta.Attempt != 1 {
			t.Errorf("replayed %s: key %q attempt %d", ev.UserId, replayed.meta.Key, replayed.meta.Attempt)
		}
		headers := map[string]string{}
		for _, hd := range replayed.meta.Headers {
			headers[hd.Key] = string(hd.Value)
		}
		if len(headers) != 2 || headers["event_id"] != ev.EventId || headers[consumer.HeaderReplays] != "1" {
			t.Errorf("replayed %s headers = %v, want event_id and %s=1 only", ev.UserId, headers, consumer.HeaderReplays)
		}
		for k := range headers {
			if strings.HasPrefix(k, "dlq.") && k != consumer.HeaderReplays {
				t.Errorf("replayed message kept header %s", k)
			}
		}
	}
	if _, _, dead := h.obs.snapshot(); len(dead) != 3 {
		t.Errorf("dead-lettered %d times, want only the 3 first failures", len(dead))
	}
}

// TestReplayWithoutDeadLetters: a group that never dead-lettered (its
// topic does not exist) has nothing to replay, which is no error.
func TestReplayWithoutDeadLetters(t *testing.T) {
	testenv.Require(t, testenv.KafkaBrokers)
	res, err := consumer.Replay(testenv.Context(t, 30*time.Second), consumer.ReplayConfig{
		Brokers: testenv.KafkaBrokers, GroupID: testenv.Name(t, "group"), Topic: testenv.Name(t, "topic"),
	}, testLogger(t))
	if err != nil || res.Moved != 0 {
		t.Fatalf("Replay = %+v, %v; want nothing moved and no error", res, err)
	}
}
