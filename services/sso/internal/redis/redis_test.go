package redis_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/redistest"
)

// testRedis connects to the local stack's Redis and returns the client and a
// key prefix unique to this test. Every key under the prefix is deleted when
// the test ends; nothing else is touched.
func testRedis(t testing.TB) (goredis.UniversalClient, string) {
	t.Helper()
	rdb := redistest.Client(t)
	prefix := testenv.Name(t, "sso") + ":"
	t.Cleanup(func() { deleteKeys(t, rdb, prefix) })
	return rdb, prefix
}

// deleteKeys removes the keys under prefix. testenv.Name yields only
// [a-z0-9_], so the prefix has no glob metacharacters.
func deleteKeys(t testing.TB, rdb goredis.UniversalClient, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("scan test keys: %v", err)
		return
	}
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		if err := rdb.Del(ctx, keys[:n]...).Err(); err != nil {
			t.Errorf("delete test keys: %v", err)
			return
		}
		keys = keys[n:]
	}
}

// within reports whether got is in [lo, hi].
func within(got, lo, hi time.Duration) bool { return got >= lo && got <= hi }
