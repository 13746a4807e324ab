package redis_test

import (
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/redis"
)

// TestWaitForReplica proves that once a security-relevant write returns,
// the replica has it: read straight from the replica, with no delay, the
// revocation, the rotation, the family's end and the throttle count are
// there. That is what makes them survive a failover to that replica.
func TestWaitForReplica(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 20*time.Second)
	replica := replicaOf(t, rdb)

	wait := redis.WaitForReplica(2 * time.Second)
	s := redis.NewSessions(rdb, p, wait)
	th := redis.NewThrottle(rdb, p, wait)
	if err := s.Start(ctx, auth.Session{Family: "fam", UserID: "u"}, "h0", life); err != nil {
		t.Fatalf("Start: %v", err)
	}
	// A new master starts with an empty script cache: the write must load
	// the script and still wait.
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, "h0", "h1", life); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if got := replica.HGet(ctx, p+"rf:fam", "current").Val(); got != "h1" {
		t.Errorf("replica: current of rf:fam = %q right after Rotate, want h1", got)
	}
	if err := s.RevokeAccess(ctx, "jti1", time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("RevokeAccess: %v", err)
	}
	if got := replica.Exists(ctx, p+"jti:jti1").Val(); got != 1 {
		t.Errorf("replica: jti:jti1 missing right after RevokeAccess")
	}
	if _, err := s.RevokeByToken(ctx, "h1"); err != nil {
		t.Fatalf("RevokeByToken: %v", err)
	}
	if got := replica.HGet(ctx, p+"rf:fam", "revoked").Val(); got != "1" {
		t.Errorf("replica: revoked of rf:fam = %q right after RevokeByToken, want 1", got)
	}
	q := auth.Quota{Key: "login:account:ada@example.com", Limit: 5, Window: time.Minute}
	if r, err := th.Reserve(ctx, q); err != nil || r.Refused >= 0 {
		t.Fatalf("Reserve = %+v, %v", r, err)
	}
	if got := replica.Get(ctx, p+"throttle:"+q.Key).Val(); got != "1" {
		t.Errorf("replica: throttle count = %q right after Reserve, want 1", got)
	}
}

// replicaOf returns a client of a replica connected to rdb's master, read
// from the master's ROLE reply; the HA stack always has one.
func replicaOf(t *testing.T, rdb goredis.UniversalClient) *goredis.Client {
	t.Helper()
	if len(testenv.RedisSentinelAddrs) == 0 {
		t.Skip("REDIS_SENTINEL_ADDRS=none: a plain Redis has no replica")
	}
	role, err := rdb.Do(t.Context(), "ROLE").Slice()
	if err != nil {
		t.Fatalf("ROLE: %v", err)
	}
	replicas, _ := role[2].([]any)
	if len(replicas) == 0 {
		t.Fatalf("the Redis master has no replica connected: start the stack with `go tool task up:infra`")
	}
	r, _ := replicas[0].([]any)
	c := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("%v:%v", r[0], r[1])})
	t.Cleanup(func() { _ = c.Close() })
	return c
}
