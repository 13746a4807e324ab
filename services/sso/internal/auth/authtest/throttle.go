package authtest

import (
	"sync"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/auth"
)

// RunThrottle runs the auth.Throttle contract against the throttles
// newThrottle returns; subtests run in parallel, each with its own
// throttle.
func RunThrottle(t *testing.T, newThrottle func(t *testing.T) auth.Throttle) {
	t.Helper()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, th auth.Throttle)
	}{
		{"RefusesAtLimit", throttleRefusesAtLimit},
		{"AllOrNothing", throttleAllOrNothing},
		{"RefusedByLongestWait", throttleRefusedByLongestWait},
		{"Release", throttleRelease},
		{"WindowIsFixedAndEnds", throttleWindowIsFixedAndEnds},
		{"ConcurrentReservations", throttleConcurrentReservations},
		{"BadQuota", throttleBadQuota},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newThrottle(t))
		})
	}
}

// reserve returns th.Reserve(qs...), failing the test on an error.
func reserve(t *testing.T, th auth.Throttle, qs ...auth.Quota) auth.Reservation {
	t.Helper()
	r, err := th.Reserve(testenv.Context(t, 10*time.Second), qs...)
	if err != nil {
		t.Fatalf("Reserve(%v): %v", qs, err)
	}
	return r
}

func release(t *testing.T, th auth.Throttle, refund, forget []string) {
	t.Helper()
	if err := th.Release(testenv.Context(t, 10*time.Second), refund, forget); err != nil {
		t.Fatalf("Release(%v, %v): %v", refund, forget, err)
	}
}

// counted reports whether r counted the attempt, failing the test when a
// refusal has no wait or a count has one.
func counted(t *testing.T, r auth.Reservation) bool {
	t.Helper()
	switch {
	case r.Refused < 0 && r.RetryAfter != 0:
		t.Fatalf("counted attempt with RetryAfter %s", r.RetryAfter)
	case r.Refused >= 0 && r.RetryAfter <= 0:
		t.Fatalf("refusal by quota %d without a wait", r.Refused)
	}
	return r.Refused < 0
}

func throttleRefusesAtLimit(t *testing.T, th auth.Throttle) {
	const window = time.Minute
	q := auth.Quota{Key: "account:a", Limit: 3, Window: window}
	for i := 1; i <= 3; i++ {
		if r := reserve(t, th, q); !counted(t, r) {
			t.Fatalf("attempt %d of 3 refused: %+v", i, r)
		}
	}
	for range 2 {
		r := reserve(t, th, q)
		if counted(t, r) || r.Refused != 0 || r.RetryAfter <= window-10*time.Second || r.RetryAfter > window {
			t.Fatalf("attempt over the limit = %+v, want refused by quota 0 for about %s", r, window)
		}
	}
	// Another key, or the same key under another name, has its own count.
	if r := reserve(t, th, auth.Quota{Key: "account:b", Limit: 3, Window: window}); !counted(t, r) {
		t.Fatalf("another key refused: %+v", r)
	}
	if r := reserve(t, th); !counted(t, r) {
		t.Fatalf("no quotas refused: %+v", r)
	}
}

// throttleAllOrNothing checks that a refused attempt counts against none
// of its quotas, not even those with room left.
func throttleAllOrNothing(t *testing.T, th auth.Throttle) {
	tight := auth.Quota{Key: "pair", Limit: 1, Window: time.Minute}
	loose := auth.Quota{Key: "account", Limit: 3, Window: time.Minute}
	if r := reserve(t, th, tight, loose); !counted(t, r) {
		t.Fatalf("first attempt refused: %+v", r)
	}
	for range 5 {
		if r := reserve(t, th, loose, tight); counted(t, r) || r.Refused != 1 {
			t.Fatalf("attempt over the tight quota = %+v, want refused by quota 1", r)
		}
	}
	// loose counted only the first attempt: two more fit.
	for i := range 2 {
		if r := reserve(t, th, loose); !counted(t, r) {
			t.Fatalf("loose quota refused attempt %d of 3: %+v", i+2, r)
		}
	}
	if r := reserve(t, th, loose); counted(t, r) {
		t.Fatal("loose quota counted a fourth attempt")
	}
}

func throttleRefusedByLongestWait(t *testing.T, th auth.Throttle) {
	short := auth.Quota{Key: "short", Limit: 1, Window: time.Minute}
	long := auth.Quota{Key: "long", Limit: 1, Window: time.Hour}
	reserve(t, th, short)
	reserve(t, th, long)
	r := reserve(t, th, short, long, auth.Quota{Key: "fresh", Limit: 5, Window: time.Minute})
	if r.Refused != 1 || r.RetryAfter <= 59*time.Minute || r.RetryAfter > time.Hour {
		t.Fatalf("Reserve(short, long, fresh) = %+v, want refused by long (1) for about an hour", r)
	}
	if r := reserve(t, th, short, auth.Quota{Key: "fresh", Limit: 5, Window: time.Minute}); r.Refused != 0 || r.RetryAfter > time.Minute {
		t.Fatalf("Reserve(short, fresh) = %+v, want refused by short (0)", r)
	}
}

func throttleRelease(t *testing.T, th auth.Throttle) {
	a := auth.Quota{Key: "a", Limit: 2, Window: time.Minute}
	b := auth.Quota{Key: "b", Limit: 2, Window: time.Minute}
	reserve(t, th, a, b)
	reserve(t, th, a, b)
	if counted(t, reserve(t, th, a)) || counted(t, reserve(t, th, b)) {
		t.Fatal("a third attempt was counted against a limit of 2")
	}
	// A refund gives back one attempt, and only one.
	release(t, th, []string{"a"}, nil)
	if !counted(t, reserve(t, th, a)) {
		t.Fatal("refunded attempt refused")
	}
	if counted(t, reserve(t, th, a)) {
		t.Fatal("a refund gave back more than one attempt")
	}
	// Forgetting drops the whole count; b is untouched.
	release(t, th, nil, []string{"a"})
	if !counted(t, reserve(t, th, a)) || !counted(t, reserve(t, th, a)) {
		t.Fatal("forgotten key did not start again from zero")
	}
	if counted(t, reserve(t, th, b)) {
		t.Fatal("releasing a touched b")
	}
	// Refunds never go below zero: refunding a key with no attempts, or
	// more often than it was reserved, gives no credit.
	release(t, th, []string{"c", "c", "never"}, []string{"never"})
	c := auth.Quota{Key: "c", Limit: 1, Window: time.Minute}
	reserve(t, th, c)
	release(t, th, []string{"c", "c"}, nil)
	if !counted(t, reserve(t, th, c)) {
		t.Fatal("refunded attempt of c refused")
	}
	if counted(t, reserve(t, th, c)) {
		t.Fatal("refunds below zero became credit")
	}
	release(t, th, nil, nil)
}

// throttleWindowIsFixedAndEnds keeps trying a refused key until it is let
// through: a fixed window ends on time however many attempts come in it,
// while a sliding one would never end. A refund inside the window does not
// move its end either.
func throttleWindowIsFixedAndEnds(t *testing.T, th auth.Throttle) {
	const window = 400 * time.Millisecond
	q := auth.Quota{Key: "k", Limit: 2, Window: window}
	start := time.Now()
	reserve(t, th, q)
	reserve(t, th, q)
	release(t, th, []string{"k"}, nil)
	reserve(t, th, q)
	if r := reserve(t, th, q); counted(t, r) || r.RetryAfter > window {
		t.Fatalf("Reserve at the limit = %+v, want refused for at most %s", r, window)
	}
	if !testenv.Eventually(10*window, 10*time.Millisecond, func() bool {
		return counted(t, reserve(t, th, q))
	}) {
		t.Fatalf("still refused %s after the first attempt of a %s window", time.Since(start), window)
	}
	if took := time.Since(start); took > window+time.Second {
		t.Errorf("the window ended after %s, want about %s", took, window)
	}
	// The attempt that got through opened a new window, counting from one:
	// the next attempt counts and the one after is refused, for at most a
	// window. Right at a window's end the store's clock and ours can
	// disagree by a scheduling delay (Redis stamps a command with the time
	// its event loop woke), so a third attempt that finds the window just
	// rolled over again is not judged: the check waits for the next window
	// and tries again, and fails only if no round shows the limit.
	for round := 1; ; round++ {
		second := counted(t, reserve(t, th, q))
		third := reserve(t, th, q)
		if !counted(t, third) {
			if !second {
				t.Error("second attempt of a new window refused")
			}
			if third.RetryAfter > window {
				t.Errorf("third attempt of a new window refused for %s, want at most %s", third.RetryAfter, window)
			}
			return
		}
		if round == 5 {
			t.Fatalf("in five new windows of %s the third attempt was counted: the limit of %d is not held", window, q.Limit)
		}
		// Use up the window the third attempt opened, then wait for the
		// next to open with an attempt of its own.
		for i := 0; i < 10 && counted(t, reserve(t, th, q)); i++ {
		}
		if !testenv.Eventually(10*window, 10*time.Millisecond, func() bool {
			return counted(t, reserve(t, th, q))
		}) {
			t.Fatalf("a window of %s never ended", window)
		}
	}
}

// throttleConcurrentReservations is the property the login throttle rests
// on: however many attempts race, exactly Limit are counted.
func throttleConcurrentReservations(t *testing.T, th auth.Throttle) {
	const tries, limit = 64, 5
	q := auth.Quota{Key: "burst", Limit: limit, Window: time.Minute}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		okay int
	)
	for range tries {
		wg.Go(func() {
			r, err := th.Reserve(testenv.Context(t, 10*time.Second), q, auth.Quota{Key: "wide", Limit: 1000, Window: time.Minute})
			if err != nil {
				t.Errorf("Reserve: %v", err)
				return
			}
			if r.Refused < 0 {
				mu.Lock()
				okay++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if okay != limit {
		t.Fatalf("%d of %d concurrent attempts counted, want exactly %d", okay, tries, limit)
	}
}

func throttleBadQuota(t *testing.T, th auth.Throttle) {
	ctx := testenv.Context(t, 10*time.Second)
	for _, q := range []auth.Quota{
		{Key: "zero-limit", Limit: 0, Window: time.Minute},
		{Key: "negative-limit", Limit: -1, Window: time.Minute},
		{Key: "zero-window", Limit: 1},
	} {
		if _, err := th.Reserve(ctx, auth.Quota{Key: "fine", Limit: 1, Window: time.Minute}, q); err == nil {
			t.Errorf("Reserve(%+v) succeeded, want an error", q)
		}
	}
	// The refused calls counted nothing.
	if !counted(t, reserve(t, th, auth.Quota{Key: "fine", Limit: 1, Window: time.Minute})) {
		t.Error("a call with a bad quota counted against the good one")
	}
}
