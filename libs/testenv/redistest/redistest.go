// Package redistest connects tests to the stack's Redis the way the
// services do: through the Sentinels, which name the current master.
package redistest

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/libs/testenv"
)

// Client requires the stack's Redis (see testenv.Require) and returns a client of
// its current master: through the Sentinels when they are configured, so
// a test keeps writing to whichever node is master, and to testenv.RedisAddr
// otherwise. The client is closed when the test ends.
func Client(t testing.TB) redis.UniversalClient {
	t.Helper()
	quietOnce.Do(func() { redis.SetLogger(quiet{}) })
	testenv.Require(t, testenv.RedisAddrs()...)
	var rdb redis.UniversalClient
	if len(testenv.RedisSentinelAddrs) > 0 {
		rdb = redis.NewFailoverClient(&redis.FailoverOptions{MasterName: testenv.RedisSentinelMaster, SentinelAddrs: testenv.RedisSentinelAddrs})
	} else {
		rdb = redis.NewClient(&redis.Options{Addr: testenv.RedisAddr})
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Master requires the stack's Redis and returns the address of its
// current master, as the Sentinels name it (testenv.RedisAddr without them), for
// tests of clients that take a plain address.
func Master(t testing.TB) string {
	t.Helper()
	testenv.Require(t, testenv.RedisAddrs()...)
	if len(testenv.RedisSentinelAddrs) == 0 {
		return testenv.RedisAddr
	}
	var lastErr error
	for _, a := range testenv.RedisSentinelAddrs {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s := redis.NewSentinelClient(&redis.Options{Addr: a})
		hp, err := s.GetMasterAddrByName(ctx, testenv.RedisSentinelMaster).Result()
		_ = s.Close()
		cancel()
		if err == nil && len(hp) == 2 {
			return net.JoinHostPort(hp[0], hp[1])
		}
		lastErr = err
	}
	t.Fatalf("no Sentinel of %v names master %q (%v): start the stack with `go tool task up:infra`", testenv.RedisSentinelAddrs, testenv.RedisSentinelMaster, lastErr)
	return ""
}

// quiet drops the client's own log lines (a line per Sentinel lookup),
// which would interleave with benchmark results; errors still reach the
// test through the commands' replies.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var quietOnce sync.Once
