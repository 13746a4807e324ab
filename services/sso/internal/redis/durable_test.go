package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/redis"
)

// TestWaitForReplica proves that once a security-relevant write returns,
// the replica has it: read straight from the replica, with no delay, the
// revocation, the rotation, the family's end, the end of a user's
// families and the throttle count are there. That is what makes them survive a failover to that replica.
func TestWaitForReplica(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 20*time.Second)
	replica := replicaOf(t, rdb)

	wait := redis.WaitForReplica(2 * time.Second)
	s := redis.NewSessions(rdb, p, wait)
	th := redis.NewThrottle(rdb, p, wait)
	if err := s.Start(ctx, auth.Session{Family: "fam", UserID: "u"}, "h0", life, auth.Origin{}); err != nil {
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
	if got := replica.Exists(ctx, p+"rf:fam").Val(); got != 0 {
		t.Errorf("replica: rf:fam still there right after RevokeByToken")
	}
	for _, fam := range []string{"fam2", "fam3"} {
		if err := s.Start(ctx, auth.Session{Family: fam, UserID: "u2"}, "h-"+fam, life, auth.Origin{}); err != nil {
			t.Fatalf("Start: %v", err)
		}
	}
	if n, err := s.RevokeUser(ctx, "u2"); err != nil || n != 2 {
		t.Fatalf("RevokeUser = %d, %v; want 2", n, err)
	}
	if got := replica.Exists(ctx, p+"rf:fam2", p+"rf:fam3", p+"uf:u2").Val(); got != 0 {
		t.Errorf("replica: %d of the user's families and index still there right after RevokeUser", got)
	}
	if got := replica.Exists(ctx, p+"ue:u2").Val(); got != 1 {
		t.Errorf("replica: the user's ended mark missing right after RevokeUser")
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
		t.Fatal("REDIS_SENTINEL_ADDRS=none: this test needs the replica of the stack's Sentinel topology")
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

// TestWaitForReplicaPolicy runs a master and a replica of its own (Debian's
// redis-server, which the stack installs) to drive the cases the stack
// cannot show on demand: a master with no replica accepts writes, waiting
// the timeout at most once; a replica that is connected but does not
// acknowledge fails the write with ErrNotReplicated; once it answers
// again, writes succeed again.
func TestWaitForReplicaPolicy(t *testing.T) {
	t.Parallel()
	testenv.Require(t)
	master := startRedis(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: master})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := testenv.Context(t, 60*time.Second)
	const timeout = 300 * time.Millisecond
	s := redis.NewSessions(rdb, "p:", redis.WaitForReplica(timeout))

	// Alone: the first write finds out by waiting, the others do not wait.
	start := time.Now()
	for i := range 20 {
		if err := s.RevokeAccess(ctx, fmt.Sprint("alone", i), time.Now().Add(time.Minute)); err != nil {
			t.Fatalf("RevokeAccess with no replica: %v", err)
		}
	}
	if took := time.Since(start); took > timeout+time.Second {
		t.Errorf("20 writes with no replica took %s: only the first should wait (%s)", took, timeout)
	}

	replica := startRedis(t, "--replicaof", "127.0.0.1", port(master))
	rc := goredis.NewClient(&goredis.Options{Addr: replica})
	t.Cleanup(func() { _ = rc.Close() })
	// The master's view is what the policy reads (ROLE lists only replicas
	// it has put online, which can lag the replica's own link status), so
	// wait for that and for the replica's link.
	if !testenv.Eventually(10*time.Second, 50*time.Millisecond, func() bool {
		info, _ := rc.Info(ctx, "replication").Result()
		n, err := connectedReplicas(ctx, rdb)
		return strings.Contains(info, "master_link_status:up") && err == nil && n == 1
	}) {
		t.Fatal("replica did not connect")
	}
	// With the replica back, a write waits for it again: it returns only
	// once the replica has it, or fails with ErrNotReplicated while the
	// replica, just out of its first sync, does not acknowledge yet. It is
	// never reported done without the replica.
	var withReplica error
	if !testenv.Eventually(10*time.Second, 100*time.Millisecond, func() bool {
		withReplica = s.RevokeAccess(ctx, "with-replica", time.Now().Add(time.Minute))
		if withReplica != nil && !errors.Is(withReplica, redis.ErrNotReplicated) {
			t.Fatalf("RevokeAccess with a replica: %v", withReplica)
		}
		return withReplica == nil
	}) {
		t.Fatalf("RevokeAccess with a replica: %v", withReplica)
	}
	if rc.Exists(ctx, "p:jti:with-replica").Val() != 1 {
		t.Error("replica lacks a revocation that returned")
	}

	// A replica that stalls (DEBUG SLEEP blocks it) does not acknowledge.
	stalled := make(chan error, 1)
	go func() { stalled <- rc.Do(context.Background(), "DEBUG", "SLEEP", "1.5").Err() }()
	time.Sleep(100 * time.Millisecond)
	err := s.RevokeAccess(ctx, "stalled", time.Now().Add(time.Minute))
	if !errors.Is(err, redis.ErrNotReplicated) {
		t.Errorf("RevokeAccess while the replica stalls = %v, want ErrNotReplicated", err)
	}
	if err := <-stalled; err != nil {
		t.Fatalf("DEBUG SLEEP: %v", err)
	}
	// Once the replica has caught up after its stall, writes are
	// acknowledged again; on a loaded machine the first may still time out.
	var recovered error
	if !testenv.Eventually(10*time.Second, 100*time.Millisecond, func() bool {
		recovered = s.RevokeAccess(ctx, "recovered", time.Now().Add(time.Minute))
		return recovered == nil
	}) {
		t.Errorf("RevokeAccess after the replica recovered: %v", recovered)
	}
}

// connectedReplicas returns how many replicas the master lists in ROLE.
func connectedReplicas(ctx context.Context, rdb *goredis.Client) (int, error) {
	res, err := rdb.Do(ctx, "ROLE").Slice()
	if err != nil {
		return 0, err
	}
	if len(res) != 3 {
		return 0, fmt.Errorf("unexpected ROLE reply %v", res)
	}
	replicas, _ := res[2].([]any)
	return len(replicas), nil
}

// startRedis starts an in-memory redis-server on a free loopback port for
// this test alone and stops it (by its pid) when the test ends.
func startRedis(t *testing.T, args ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	cmd := exec.Command("redis-server", append([]string{"--bind", "127.0.0.1", "--port", port(addr),
		"--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes", "--dir", t.TempDir()}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server (installed by the stack): %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	if !testenv.Eventually(10*time.Second, 50*time.Millisecond, func() bool { return c.Ping(context.Background()).Err() == nil }) {
		t.Fatalf("redis-server on %s does not answer", addr)
	}
	return addr
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
