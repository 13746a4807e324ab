package service

import (
	"context"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/libs/testenv/redistest"
	"github.com/ssokit/platform/services/sso/internal/config"
)

// newRedis builds a plain client from an address and a failover client
// from Sentinel addresses (the master name alone, which has a default,
// must not make it one); both reach the stack's Redis.
func TestNewRedis(t *testing.T) {
	if len(testenv.RedisSentinelAddrs) == 0 {
		t.Fatal("REDIS_SENTINEL_ADDRS=none: this test needs the Sentinels the stack runs")
	}
	master := redistest.Master(t)
	tests := []struct {
		name string
		cfg  config.Redis
	}{
		{"plain", config.Redis{Addr: master, SentinelMaster: "mymaster"}},
		{"sentinel", config.Redis{SentinelAddrs: testenv.RedisSentinelAddrs, SentinelMaster: testenv.RedisSentinelMaster}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := newRedis(tt.cfg)
			defer rdb.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			key := "sso-test-newredis:" + tt.name
			// A value bigger than the 4 KiB buffers, and a pipeline bigger
			// than the 32 KiB pipeline write buffer, still round-trip.
			val := strings.Repeat("v", 10_000)
			if err := rdb.Set(ctx, key, val, time.Minute).Err(); err != nil {
				t.Fatalf("SET through %s client: %v", tt.name, err)
			}
			defer rdb.Del(context.Background(), key)
			got, err := rdb.Get(ctx, key).Result()
			if err != nil || got != val {
				t.Fatalf("GET = %d bytes, %v; want the %d bytes set", len(got), err, len(val))
			}
			pipe := rdb.Pipeline()
			for range 1000 {
				pipe.Exists(ctx, key)
			}
			cmds, err := pipe.Exec(ctx)
			if err != nil || len(cmds) != 1000 {
				t.Fatalf("pipeline of 1000 EXISTS: %d replies, %v", len(cmds), err)
			}
			for _, c := range cmds {
				if n, err := c.(*goredis.IntCmd).Result(); n != 1 || err != nil {
					t.Fatalf("EXISTS %s = %d, %v; want 1", key, n, err)
				}
			}
		})
	}
}
