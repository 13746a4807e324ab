//go:build chaos

package chaos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/libs/testenv"
)

// A request slower than this counts as a hang: sso must answer "unavailable"
// promptly while Redis has no master, not hold the client.
const hangAfter = 10 * time.Second

// TestRedisMasterKilled kills the Redis master with SIGKILL right after
// logouts, rotations and reuse-revoked families were acknowledged, under a
// steady load of logins and refreshes, and checks that after Sentinel's
// failover every one of them still holds, that sso serves again within
// seconds, answering only clear errors meanwhile, and that the old master
// rejoins as a replica when the stack starts it again.
func TestRedisMasterKilled(t *testing.T) {
	testenv.Require(t, append(testenv.RedisAddrs(), ssoHostPort())...)
	if len(testenv.RedisSentinelAddrs) == 0 {
		t.Fatal("REDIS_SENTINEL_ADDRS=none: a Redis failover needs the Sentinels")
	}
	ctx := testenv.Context(t, 5*time.Minute)
	c := &client{base: ssoURL, http: &http.Client{Timeout: 30 * time.Second}}

	oldMaster := sentinelMaster(ctx, t)
	if n := connectedReplicas(ctx, t, oldMaster); n == 0 {
		t.Fatalf("Redis master %s has no replica: nothing to fail over to (start the stack with `go tool task up:infra`)", oldMaster)
	}

	// Users, registered before the load starts.
	const users = 12
	emails := make([]string, users)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := range emails {
		emails[i] = fmt.Sprintf("chaos-redis-%s-%d@example.test", run, i)
		if r := c.post(ctx, "/v1/auth/register", "", map[string]string{"email": emails[i], "password": password, "full_name": "Chaos"}); r.status != http.StatusOK {
			t.Fatalf("register %s: %d %s", emails[i], r.status, r.raw)
		}
	}

	// The steady load: each worker logs a user in and refreshes that
	// session a few times, over and over.
	rec := &recorder{}
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; loadCtx.Err() == nil; i++ {
				email := emails[(w*7+i)%users]
				r := c.post(loadCtx, "/v1/auth/login", "", map[string]string{"email": email, "password": password})
				rec.add("login", r)
				refresh := r.str("refresh_token")
				for j := 0; j < 3 && refresh != "" && loadCtx.Err() == nil; j++ {
					time.Sleep(20 * time.Millisecond)
					r = c.post(loadCtx, "/v1/auth/refresh", "", map[string]string{"refresh_token": refresh})
					rec.add("refresh", r)
					refresh = r.str("refresh_token")
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	t.Cleanup(func() { stopLoad(); wg.Wait() })
	time.Sleep(time.Second)

	// The security-relevant writes, each acknowledged just before the kill.
	type session struct{ access, refresh, old string }
	login := func(i int) session {
		r := c.post(ctx, "/v1/auth/login", "", map[string]string{"email": emails[i%users], "password": password})
		if r.status != http.StatusOK {
			t.Fatalf("login: %d %s", r.status, r.raw)
		}
		return session{access: r.str("access_token"), refresh: r.str("refresh_token")}
	}
	rotate := func(s session) session {
		r := c.post(ctx, "/v1/auth/refresh", "", map[string]string{"refresh_token": s.refresh})
		if r.status != http.StatusOK {
			t.Fatalf("refresh: %d %s", r.status, r.raw)
		}
		return session{access: r.str("access_token"), refresh: r.str("refresh_token"), old: s.refresh}
	}
	const each = 20
	var loggedOut, rotated, reused []session
	for i := range each {
		s := login(i)
		if r := c.post(ctx, "/v1/auth/logout", s.access, map[string]string{"refresh_token": s.refresh}); r.status != http.StatusOK {
			t.Fatalf("logout: %d %s", r.status, r.raw)
		}
		loggedOut = append(loggedOut, s)

		rotated = append(rotated, rotate(login(i)))

		s = rotate(login(i))
		if r := c.post(ctx, "/v1/auth/refresh", "", map[string]string{"refresh_token": s.old}); r.status != http.StatusUnauthorized {
			t.Fatalf("reusing a rotated-away token: %d %s, want 401", r.status, r.raw)
		}
		reused = append(reused, s)
	}

	pid := masterPID(ctx, t, oldMaster)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 the Redis master (pid %d): %v", pid, err)
	}
	killed := time.Now()

	var newMaster string
	if !testenv.Eventually(60*time.Second, 50*time.Millisecond, func() bool {
		m, err := sentinelMasterErr(ctx)
		newMaster = m
		return err == nil && m != oldMaster
	}) {
		t.Fatalf("no failover within 60s: Sentinels still name %s", oldMaster)
	}
	failover := time.Since(killed)

	// sso serves again once a login and a refresh succeed in a row.
	var served time.Duration
	if !testenv.Eventually(60*time.Second, 100*time.Millisecond, func() bool {
		r := c.post(ctx, "/v1/auth/login", "", map[string]string{"email": emails[0], "password": password})
		if r.status != http.StatusOK {
			return false
		}
		r = c.post(ctx, "/v1/auth/refresh", "", map[string]string{"refresh_token": r.str("refresh_token")})
		served = time.Since(killed)
		return r.status == http.StatusOK
	}) {
		t.Fatalf("sso serves no login and refresh 60s after the Redis master died")
	}
	// Let the load run on the new master a little, then stop it.
	time.Sleep(2 * time.Second)
	stopLoad()
	wg.Wait()

	// Every write acknowledged before the kill still holds.
	lost := map[string]int{}
	for _, s := range loggedOut {
		if r := c.post(ctx, "/v1/auth/validate", "", map[string]string{"token": s.access}); r.status != http.StatusOK || r.body["valid"] == true {
			lost["logout-access"]++
			t.Errorf("logged-out access token after failover: validate %d %s, want valid=false", r.status, r.raw)
		}
		if r := c.post(ctx, "/v1/auth/refresh", "", map[string]string{"refresh_token": s.refresh}); r.status != http.StatusUnauthorized {
			lost["logout-refresh"]++
			t.Errorf("logged-out refresh token after failover: %d %s, want 401", r.status, r.raw)
		}
	}
	for _, s := range rotated {
		// The rotation's new token works (the rotation is on the new
		// master), then the rotated-away one is refused as reuse.
		if r := c.post(ctx, "/v1/auth/refresh", "", map[string]string{"refresh_token": s.refresh}); r.status != http.StatusOK {
			lost["rotation-new"]++
			t.Errorf("token from a rotation before the kill: %d %s, want 200", r.status, r.raw)
		}
		if r := c.post(ctx, "/v1/auth/refresh", "", map[string]string{"refresh_token": s.old}); r.status != http.StatusUnauthorized {
			lost["rotation-old"]++
			t.Errorf("rotated-away refresh token after failover: %d %s, want 401", r.status, r.raw)
		}
	}
	for _, s := range reused {
		if r := c.post(ctx, "/v1/auth/refresh", "", map[string]string{"refresh_token": s.refresh}); r.status != http.StatusUnauthorized {
			lost["revoked-family"]++
			t.Errorf("token of a family revoked for reuse, after failover: %d %s, want 401", r.status, r.raw)
		}
	}

	// The old master, started again, follows the new one.
	rejoined := "not checked"
	if err := stackUp(ctx); err != nil {
		t.Errorf("restart the old master: %v", err)
	} else {
		old := redis.NewClient(&redis.Options{Addr: oldMaster})
		defer old.Close()
		ok := testenv.Eventually(30*time.Second, 200*time.Millisecond, func() bool {
			info, err := old.Info(ctx, "replication").Result()
			return err == nil && strings.Contains(info, "role:slave") &&
				strings.Contains(info, "master_port:"+port(newMaster)) && strings.Contains(info, "master_link_status:up")
		})
		rejoined = "yes"
		if !ok {
			rejoined = "no"
			t.Errorf("old master %s did not rejoin as a replica of %s within 30s", oldMaster, newMaster)
		}
	}

	during := rec.after(killed, killed.Add(served))
	t.Logf("CHAOS redis-failover: master %s killed, Sentinel promoted %s after %.1fs, sso served logins and refreshes again after %.1fs; "+
		"client answers during the gap: %s; slowest %.2fs; hangs (>%s): %d; acknowledged before the kill and checked after: "+
		"%d logouts, %d rotations, %d reuse-revoked families, lost: %d; old master rejoined as replica: %s",
		oldMaster, newMaster, failover.Seconds(), served.Seconds(), during.codes(), during.slowest.Seconds(), hangAfter,
		during.hangs, each, each, each, sum(lost), rejoined)
	t.Logf("CHAOS redis-failover: whole run %s", rec.after(time.Time{}, time.Now()).codes())

	if n := during.count(http.StatusInternalServerError); n > 0 {
		t.Errorf("%d answers 500 during the failover, want clear 503s", n)
	}
	if n := during.count(0); n > 0 {
		t.Errorf("%d requests got no HTTP answer during the failover", n)
	}
	if during.hangs > 0 {
		t.Errorf("%d requests took longer than %s during the failover", during.hangs, hangAfter)
	}
	if served > 30*time.Second {
		t.Errorf("sso served again only after %s, want at most 30s", served)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// sentinelMasterErr asks the Sentinels in turn which node is master.
func sentinelMasterErr(ctx context.Context) (string, error) {
	err := errors.New("no Sentinel configured")
	for _, a := range testenv.RedisSentinelAddrs {
		s := redis.NewSentinelClient(&redis.Options{Addr: a, DialTimeout: time.Second, ReadTimeout: time.Second})
		var hp []string
		hp, err = s.GetMasterAddrByName(ctx, testenv.RedisSentinelMaster).Result()
		_ = s.Close()
		if err == nil && len(hp) == 2 {
			return net.JoinHostPort(hp[0], hp[1]), nil
		}
	}
	return "", err
}

func sentinelMaster(ctx context.Context, t *testing.T) string {
	t.Helper()
	m, err := sentinelMasterErr(ctx)
	if err != nil {
		t.Fatalf("ask the Sentinels %v for %s: %v", testenv.RedisSentinelAddrs, testenv.RedisSentinelMaster, err)
	}
	return m
}

func connectedReplicas(ctx context.Context, t *testing.T, addr string) int {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		t.Fatalf("INFO replication on %s: %v", addr, err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "connected_slaves:"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

// masterPID reads the master's pid from the server itself: the test kills
// the process the stack started, found by the port it serves.
func masterPID(ctx context.Context, t *testing.T, addr string) int {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		t.Fatalf("INFO server on %s: %v", addr, err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			if pid, err := strconv.Atoi(v); err == nil && pid > 1 {
				return pid
			}
		}
	}
	t.Fatalf("no process_id in INFO server of %s", addr)
	return 0
}

// stackUp starts what of the stack's Redis is down, as an operator would
// after the failover; the STACK_* port variables pass through.
func stackUp(ctx context.Context) error {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
	cmd := exec.CommandContext(ctx, filepath.Join(root, "deploy", "local", "stack"), "up", "redis")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// ---- REST client and what it saw ---------------------------------------

type client struct {
	base string
	http *http.Client
}

type answer struct {
	status int // 0: no HTTP answer (transport error)
	body   map[string]any
	raw    string
	at     time.Time
	took   time.Duration
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

func (c *client) post(ctx context.Context, path, bearer string, body any) answer {
	b, _ := json.Marshal(body)
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return answer{raw: err.Error(), at: start}
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{raw: err.Error(), at: start, took: time.Since(start)}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: string(raw), at: start, took: time.Since(start)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// record is one request of the load; status 0 means no HTTP answer.
type record struct {
	op     string
	status int
	at     time.Time
	took   time.Duration
}

type recorder struct {
	mu  sync.Mutex
	all []record
}

func (r *recorder) add(op string, a answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a.status == 0 && strings.Contains(a.raw, "context canceled") {
		return // the load stopping, not an answer
	}
	r.all = append(r.all, record{op, a.status, a.at, a.took})
}

type tally struct {
	by      map[string]int // "login 503" -> n
	slowest time.Duration
	hangs   int
}

// after tallies the requests sent from from until to.
func (r *recorder) after(from, to time.Time) tally {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := tally{by: map[string]int{}}
	for _, x := range r.all {
		if x.at.Before(from) || x.at.After(to) {
			continue
		}
		t.by[x.op+" "+strconv.Itoa(x.status)]++
		t.slowest = max(t.slowest, x.took)
		if x.took > hangAfter {
			t.hangs++
		}
	}
	return t
}

func (t tally) count(status int) int {
	n := 0
	for k, v := range t.by {
		if strings.HasSuffix(k, " "+strconv.Itoa(status)) {
			n += v
		}
	}
	return n
}

func (t tally) codes() string {
	keys := make([]string, 0, len(t.by))
	for k := range t.by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = strings.Replace(k, " ", "/", 1) + "=" + strconv.Itoa(t.by[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}
