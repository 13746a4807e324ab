package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/services/sso/internal/auth"
)

var _ auth.Throttle = (*Throttle)(nil)

// Throttle counts failed logins per key (an account, a client address) in a
// fixed window shared by every sso replica. The window of a key opens with
// its first failure and lasts window; later failures do not extend it. Once
// a key has limit failures in its window it is blocked until the window
// ends, and then starts again from zero.
//
// Blocked is meant to be checked before the password is verified: a blocked
// key is refused even with the right password, so guessing cannot go on
// inside the window, and the answer does not reveal whether a guess was
// right.
type Throttle struct {
	rdb    goredis.UniversalClient
	prefix string
	limit  int64
	window time.Duration
}

// NewThrottle returns a Throttle that blocks a key after limit failures
// within window, storing its counters under prefix in rdb. limit and window
// must be positive (configuration validates them); NewThrottle panics
// otherwise, since a throttle that blocks everyone or no one is a wiring
// mistake.
func NewThrottle(rdb goredis.UniversalClient, prefix string, limit int, window time.Duration) *Throttle {
	if limit <= 0 || window <= 0 {
		panic(fmt.Sprintf("redis: NewThrottle needs a positive limit and window, got %d and %s", limit, window))
	}
	return &Throttle{rdb: rdb, prefix: prefix, limit: int64(limit), window: ceilMillis(window)}
}

func (t *Throttle) key(k string) string { return t.prefix + "throttle:" + k }

// Failed records one failed attempt for each key. Each counter is
// incremented and, on its first failure, given the window as its TTL, in one
// MULTI/EXEC: a counter never exists without an expiry.
func (t *Throttle) Failed(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := t.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for _, k := range keys {
			key := t.key(k)
			p.Incr(ctx, key)
			// NX: only a counter without a TTL (a new one) gets the window,
			// so the window stays fixed.
			p.Do(ctx, "PEXPIRE", key, t.window.Milliseconds(), "NX")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Blocked returns how long until every key may try again: the longest
// remaining window among keys with at least limit failures, or 0 when none
// is blocked.
func (t *Throttle) Blocked(ctx context.Context, keys ...string) (time.Duration, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	type counter struct {
		count *goredis.StringCmd
		ttl   *goredis.DurationCmd
	}
	counters := make([]counter, len(keys))
	_, err := t.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			key := t.key(k)
			counters[i] = counter{count: p.Get(ctx, key), ttl: p.PTTL(ctx, key)}
		}
		return nil
	})
	// A key without failures answers Nil; that is not an error here.
	if err != nil && !errors.Is(err, goredis.Nil) {
		return 0, fmt.Errorf("redis: %w", err)
	}
	var wait time.Duration
	for _, c := range counters {
		n, err := c.count.Int64()
		if errors.Is(err, goredis.Nil) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("redis: %w", err)
		}
		if n < t.limit {
			continue
		}
		ttl := c.ttl.Val()
		if ttl == -1 {
			// No expiry should not happen (Failed always sets one); block
			// for a full window rather than forever or not at all.
			ttl = t.window
		}
		wait = max(wait, ttl)
	}
	return wait, nil
}

// Reset forgets key's failures, after a successful login.
func (t *Throttle) Reset(ctx context.Context, key string) error {
	if err := t.rdb.Del(ctx, t.key(key)).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}
