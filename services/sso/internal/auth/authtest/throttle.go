package authtest

import (
	"testing"
	"time"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/auth"
)

// RunThrottle runs the auth.Throttle contract against the throttles
// newThrottle returns, each blocking a key after limit failures within
// window; subtests run in parallel, each with its own throttle.
func RunThrottle(t *testing.T, newThrottle func(t *testing.T, limit int, window time.Duration) auth.Throttle) {
	t.Helper()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, newThrottle func(t *testing.T, limit int, window time.Duration) auth.Throttle)
	}{
		{"BlocksAtLimit", throttleBlocksAtLimit},
		{"KeysAreIndependent", throttleKeysAreIndependent},
		{"Reset", throttleReset},
		{"WindowIsFixedAndEnds", throttleWindowIsFixedAndEnds},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newThrottle)
		})
	}
}

// blocked returns th.Blocked(keys...), failing the test on an error.
func blocked(t *testing.T, th auth.Throttle, keys ...string) time.Duration {
	t.Helper()
	d, err := th.Blocked(testenv.Context(t, 10*time.Second), keys...)
	if err != nil {
		t.Fatalf("Blocked(%v): %v", keys, err)
	}
	return d
}

func failed(t *testing.T, th auth.Throttle, keys ...string) {
	t.Helper()
	if err := th.Failed(testenv.Context(t, 10*time.Second), keys...); err != nil {
		t.Fatalf("Failed(%v): %v", keys, err)
	}
}

func throttleBlocksAtLimit(t *testing.T, newThrottle func(*testing.T, int, time.Duration) auth.Throttle) {
	const window = time.Minute
	th := newThrottle(t, 3, window)
	for i := 1; i <= 3; i++ {
		failed(t, th, "account:a")
		got := blocked(t, th, "account:a")
		switch {
		case i < 3 && got != 0:
			t.Fatalf("Blocked after %d failures = %s, want 0", i, got)
		case i == 3 && (got <= window-10*time.Second || got > window):
			t.Fatalf("Blocked after %d failures = %s, want about %s", i, got, window)
		}
	}
	// A blocked key stays blocked: more failures neither lift nor fail.
	failed(t, th, "account:a")
	if got := blocked(t, th, "account:a"); got <= 0 {
		t.Errorf("Blocked after more failures = %s, want positive", got)
	}
}

func throttleKeysAreIndependent(t *testing.T, newThrottle func(*testing.T, int, time.Duration) auth.Throttle) {
	th := newThrottle(t, 3, time.Minute)
	for range 3 {
		// One call counts against every key it names.
		failed(t, th, "account:b", "ip:10.0.0.1")
	}
	failed(t, th, "account:c")
	if got := blocked(t, th, "account:b"); got <= 0 {
		t.Errorf("Blocked(b) = %s, want positive", got)
	}
	if got := blocked(t, th, "ip:10.0.0.1"); got <= 0 {
		t.Errorf("Blocked(ip) = %s, want positive", got)
	}
	for _, tt := range []struct {
		name string
		keys []string
	}{
		{"below limit", []string{"account:c"}},
		{"never failed", []string{"account:d"}},
		{"none over limit", []string{"account:c", "account:d"}},
		{"no keys", nil},
	} {
		if got := blocked(t, th, tt.keys...); got != 0 {
			t.Errorf("%s: Blocked(%v) = %s, want 0", tt.name, tt.keys, got)
		}
	}
	if got := blocked(t, th, "account:c", "account:b"); got <= 0 {
		t.Errorf("Blocked(c, b) = %s, want b's wait", got)
	}
}

func throttleReset(t *testing.T, newThrottle func(*testing.T, int, time.Duration) auth.Throttle) {
	ctx := testenv.Context(t, 10*time.Second)
	th := newThrottle(t, 3, time.Minute)
	for range 3 {
		failed(t, th, "a", "b")
	}
	if err := th.Reset(ctx, "a"); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if got := blocked(t, th, "a"); got != 0 {
		t.Errorf("Blocked(a) after Reset = %s, want 0", got)
	}
	if got := blocked(t, th, "b"); got <= 0 {
		t.Errorf("Blocked(b) = %s, want positive: Reset(a) must not touch b", got)
	}
	if err := th.Reset(ctx, "never"); err != nil {
		t.Errorf("Reset(unknown): %v", err)
	}
	// After a reset the count starts from zero.
	failed(t, th, "a")
	failed(t, th, "a")
	if got := blocked(t, th, "a"); got != 0 {
		t.Errorf("Blocked(a) after Reset and two failures = %s, want 0", got)
	}
	failed(t, th, "a")
	if got := blocked(t, th, "a"); got <= 0 {
		t.Errorf("Blocked(a) after Reset and three failures = %s, want positive", got)
	}
}

// throttleWindowIsFixedAndEnds keeps failing a blocked key until it is let
// through: a fixed window ends on time however many failures come in it,
// while a sliding one would never end.
func throttleWindowIsFixedAndEnds(t *testing.T, newThrottle func(*testing.T, int, time.Duration) auth.Throttle) {
	const window = 300 * time.Millisecond
	th := newThrottle(t, 2, window)
	start := time.Now()
	failed(t, th, "k")
	failed(t, th, "k")
	if got := blocked(t, th, "k"); got <= 0 || got > window {
		t.Fatalf("Blocked = %s, want in (0, %s]", got, window)
	}
	if !testenv.Eventually(10*window, 10*time.Millisecond, func() bool {
		if blocked(t, th, "k") == 0 {
			return true
		}
		failed(t, th, "k")
		return false
	}) {
		t.Fatalf("still blocked %s after the first failure of a %s window", time.Since(start), window)
	}
	if took := time.Since(start); took > window+time.Second {
		t.Errorf("the window ended after %s, want about %s", took, window)
	}
	// A new window starts from zero.
	failed(t, th, "k")
	if got := blocked(t, th, "k"); got != 0 {
		t.Errorf("Blocked after one failure in a new window = %s, want 0", got)
	}
	failed(t, th, "k")
	if got := blocked(t, th, "k"); got <= 0 || got > window {
		t.Errorf("Blocked at the limit of a new window = %s, want in (0, %s]", got, window)
	}
}
