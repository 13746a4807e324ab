package redis_test

import (
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/redis"
)

func TestThrottleBlocksAtLimit(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	const window = 10 * time.Second
	th := redis.NewThrottle(rdb, p, 3, window)

	for i := 1; i <= 3; i++ {
		if err := th.Failed(ctx, "account:a"); err != nil {
			t.Fatalf("Failed #%d: %v", i, err)
		}
		got, err := th.Blocked(ctx, "account:a")
		if err != nil {
			t.Fatalf("Blocked after %d failures: %v", i, err)
		}
		switch {
		case i < 3 && got != 0:
			t.Fatalf("Blocked after %d failures = %s, want 0", i, got)
		case i == 3 && !within(got, window-2*time.Second, window):
			t.Fatalf("Blocked after %d failures = %s, want in (%s, %s]", i, got, window-2*time.Second, window)
		}
	}
	if n := rdb.Get(ctx, p+"throttle:account:a").Val(); n != "3" {
		t.Errorf("counter = %q, want 3", n)
	}
}

func TestThrottleWindowIsFixed(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	const window = 2 * time.Second
	th := redis.NewThrottle(rdb, p, 1, window)

	if err := th.Failed(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	// Age the window on the server instead of waiting: as if most of it
	// had passed.
	const left = 500 * time.Millisecond
	if err := rdb.PExpire(ctx, p+"throttle:k", left).Err(); err != nil {
		t.Fatal(err)
	}
	// More failures inside the window do not push its end back.
	for range 3 {
		if err := th.Failed(ctx, "k"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := th.Blocked(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if !within(got, time.Millisecond, left) {
		t.Errorf("Blocked = %s, want at most %s (the window must not slide)", got, left)
	}
}

func TestThrottleKeysAreIndependent(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	const window = 10 * time.Second
	th := redis.NewThrottle(rdb, p, 3, window)

	for range 3 {
		if err := th.Failed(ctx, "account:a"); err != nil {
			t.Fatal(err)
		}
	}
	// a's window opened a second earlier than b's will: aged on the
	// server rather than waited for.
	if err := rdb.PExpire(ctx, p+"throttle:account:a", window-time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	// One call counts against several keys at once.
	for range 3 {
		if err := th.Failed(ctx, "account:b", "ip:10.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := th.Failed(ctx, "account:c"); err != nil {
		t.Fatal(err)
	}

	blocked := func(keys ...string) time.Duration {
		t.Helper()
		d, err := th.Blocked(ctx, keys...)
		if err != nil {
			t.Fatalf("Blocked(%v): %v", keys, err)
		}
		return d
	}
	a, b := blocked("account:a"), blocked("account:b")
	if a <= 0 || b <= 0 {
		t.Fatalf("Blocked(a) = %s, Blocked(b) = %s; want both positive", a, b)
	}
	if b <= a {
		t.Errorf("Blocked(b) = %s, want more than Blocked(a) = %s (b's window opened later)", b, a)
	}
	// b's window ends about a second after a's; both only shrink while
	// the test runs.
	if got := blocked("account:a", "account:b"); got <= a || got < b-500*time.Millisecond {
		t.Errorf("Blocked(a, b) = %s, want the longer wait, b's (%s), not a's (%s)", got, b, a)
	}
	if got := blocked("ip:10.0.0.1"); got <= 0 {
		t.Errorf("Blocked(ip) = %s, want positive", got)
	}
	tests := []struct {
		name string
		keys []string
	}{
		{"below limit", []string{"account:c"}},
		{"never failed", []string{"account:d"}},
		{"none over limit", []string{"account:c", "account:d"}},
		{"no keys", nil},
	}
	for _, tt := range tests {
		if got := blocked(tt.keys...); got != 0 {
			t.Errorf("%s: Blocked(%v) = %s, want 0", tt.name, tt.keys, got)
		}
	}
	if got := blocked("account:c", "account:a"); got <= 0 {
		t.Errorf("Blocked(c, a) = %s, want a's wait", got)
	}
}

func TestThrottleReset(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	th := redis.NewThrottle(rdb, p, 3, time.Minute)
	for range 3 {
		if err := th.Failed(ctx, "a", "b"); err != nil {
			t.Fatal(err)
		}
	}

	if err := th.Reset(ctx, "a"); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if got, err := th.Blocked(ctx, "a"); err != nil || got != 0 {
		t.Errorf("Blocked(a) after Reset = %s, %v; want 0", got, err)
	}
	if got, err := th.Blocked(ctx, "b"); err != nil || got <= 0 {
		t.Errorf("Blocked(b) = %s, %v; want positive: Reset(a) must not touch b", got, err)
	}
	if err := th.Reset(ctx, "never"); err != nil {
		t.Errorf("Reset(unknown): %v", err)
	}
	// After a reset the count starts from zero.
	if err := th.Failed(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Get(ctx, p+"throttle:a").Val(); n != "1" {
		t.Errorf("counter after Reset and one failure = %q, want 1", n)
	}
}

func TestThrottleWindowExpires(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	const window = 200 * time.Millisecond
	th := redis.NewThrottle(rdb, p, 3, window)
	for range 3 {
		if err := th.Failed(ctx, "k"); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := th.Blocked(ctx, "k"); err != nil || !within(got, time.Millisecond, window) {
		t.Fatalf("Blocked = %s, %v; want in (0, %s]", got, err, window)
	}

	// Redis ends the window, on its own clock: wait for that, not for a
	// guess of how long it takes.
	var (
		got time.Duration
		err error
	)
	if !testenv.Eventually(5*time.Second, 10*time.Millisecond, func() bool {
		got, err = th.Blocked(ctx, "k")
		return err == nil && got == 0
	}) {
		t.Fatalf("Blocked long after the window = %s, %v; want 0", got, err)
	}
	if n := rdb.Exists(ctx, p+"throttle:k").Val(); n != 0 {
		t.Error("counter still exists after the window")
	}
	// A new window starts from zero.
	if err := th.Failed(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if got, err := th.Blocked(ctx, "k"); err != nil || got != 0 {
		t.Errorf("Blocked after one failure in a new window = %s, %v; want 0", got, err)
	}
	if ttl := rdb.PTTL(ctx, p+"throttle:k").Val(); !within(ttl, time.Millisecond, window) {
		t.Errorf("new window PTTL = %s, want in (0, %s]", ttl, window)
	}
}

func TestNewThrottlePanicsOnBadConfig(t *testing.T) {
	t.Parallel()
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = rdb.Close() })
	tests := []struct {
		name   string
		limit  int
		window time.Duration
	}{
		{"zero limit", 0, time.Minute},
		{"negative limit", -1, time.Minute},
		{"zero window", 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("NewThrottle did not panic")
				}
			}()
			redis.NewThrottle(rdb, "x:", tt.limit, tt.window)
		})
	}
}
