package testenv_test

import (
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/redistest"
)

// TestRedisRoundTrip proves the Redis server stores, expires and deletes
// keys the way token state relies on.
func TestRedisRoundTrip(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := testenv.Context(t, 10*time.Second)

	key := testenv.Name(t, "probe")
	t.Cleanup(func() { rdb.Del(ctx, key) })
	if err := rdb.Set(ctx, key, "value-1", time.Minute).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	got, err := rdb.Get(ctx, key).Result()
	if err != nil || got != "value-1" {
		t.Fatalf("get = %q, %v; want value-1", got, err)
	}
	ttl, err := rdb.TTL(ctx, key).Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ttl = %v, %v; want within (0, 1m]", ttl, err)
	}
	if n, err := rdb.Del(ctx, key).Result(); err != nil || n != 1 {
		t.Fatalf("del = %d, %v; want 1", n, err)
	}
	if _, err := rdb.Get(ctx, key).Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("get after del: %v, want redis.Nil", err)
	}
}
