package redis_test

import (
	"testing"
	"time"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/redis"
)

// The contract suite (contract_test.go) covers the behaviour; these tests
// look at what is stored.

func TestThrottleStoresOneCounterPerKeyWithItsWindow(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	th := redis.NewThrottle(rdb, p)
	qs := []auth.Quota{
		{Key: "login:account:ada@example.com", Limit: 3, Window: 10 * time.Second},
		{Key: "login:address:203.0.113.7", Limit: 50, Window: time.Hour},
	}
	for range 2 {
		if _, err := th.Reserve(ctx, qs...); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range qs {
		key := p + "throttle:" + q.Key
		if n := rdb.Get(ctx, key).Val(); n != "2" {
			t.Errorf("%s = %q, want 2", key, n)
		}
		if ttl := rdb.PTTL(ctx, key).Val(); !within(ttl, q.Window-2*time.Second, q.Window) {
			t.Errorf("PTTL %s = %s, want about %s", key, ttl, q.Window)
		}
	}
}

func TestThrottleWindowIsFixed(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	th := redis.NewThrottle(rdb, p)
	q := auth.Quota{Key: "k", Limit: 3, Window: 2 * time.Second}
	if _, err := th.Reserve(ctx, q); err != nil {
		t.Fatal(err)
	}
	// Age the window on the server instead of waiting: as if most of it
	// had passed.
	const left = 500 * time.Millisecond
	if err := rdb.PExpire(ctx, p+"throttle:k", left).Err(); err != nil {
		t.Fatal(err)
	}
	// Later attempts, a refund and refusals inside the window do not push
	// its end back.
	for range 2 {
		if _, err := th.Reserve(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := th.Release(ctx, []string{"k"}, nil); err != nil {
		t.Fatal(err)
	}
	var r auth.Reservation
	for range 3 {
		var err error
		if r, err = th.Reserve(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if r.Refused != 0 || !within(r.RetryAfter, time.Millisecond, left) {
		t.Errorf("Reserve at the limit = %+v, want refused for at most %s (the window must not slide)", r, left)
	}
}

// TestThrottleCounterWithoutTTL: a counter that somehow lost its TTL (an
// operator's PERSIST, a restore) must not refuse forever.
func TestThrottleCounterWithoutTTL(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	th := redis.NewThrottle(rdb, p)
	if err := rdb.Set(ctx, p+"throttle:k", 7, 0).Err(); err != nil {
		t.Fatal(err)
	}
	r, err := th.Reserve(ctx, auth.Quota{Key: "k", Limit: 3, Window: time.Minute})
	if err != nil || r.Refused != 0 || !within(r.RetryAfter, 59*time.Second, time.Minute) {
		t.Fatalf("Reserve = %+v, %v; want refused for a full window", r, err)
	}
	if ttl := rdb.PTTL(ctx, p+"throttle:k").Val(); !within(ttl, 58*time.Second, time.Minute) {
		t.Errorf("PTTL after the refusal = %s, want about a minute", ttl)
	}
}

// TestThrottleRefundAfterTheWindow: a success whose window ended while its
// password was being checked must not leave a credit behind.
func TestThrottleRefundAfterTheWindow(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	th := redis.NewThrottle(rdb, p)
	if err := th.Release(ctx, []string{"gone"}, []string{"also-gone"}); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, p+"throttle:gone", p+"throttle:also-gone").Val(); n != 0 {
		t.Errorf("Release created %d keys", n)
	}
}
