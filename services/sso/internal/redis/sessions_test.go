package redis_test

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/redis"
)

// ttl is the idle TTL of life, the lifetime most tests give families.
const ttl = time.Minute

var life = auth.Lifetime{Idle: ttl, Absolute: time.Hour}

func TestSessionsStartWritesDocumentedLayout(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	s := redis.NewSessions(rdb, p)

	origin := auth.Origin{ClientAddress: "203.0.113.7", UserAgent: "curl/8.5.0"}
	if err := s.Start(ctx, auth.Session{Family: "fam1", UserID: "user1"}, "h1", life, origin); err != nil {
		t.Fatalf("Start: %v", err)
	}

	tok, err := rdb.HGetAll(ctx, p+"rt:h1").Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"family": "fam1", "user_id": "user1"}; !maps.Equal(tok, want) {
		t.Errorf("rt:h1 = %v, want %v", tok, want)
	}
	fam, err := rdb.HGetAll(ctx, p+"rf:fam1").Result()
	if err != nil {
		t.Fatal(err)
	}
	// started is the Redis clock's time of the login, in milliseconds.
	started, err := strconv.ParseInt(fam["started"], 10, 64)
	if now := redisNow(t, rdb); err != nil || !within(now.Sub(time.UnixMilli(started)), 0, 5*time.Second) {
		t.Errorf("rf:fam1 started = %q, want about %d (now)", fam["started"], now.UnixMilli())
	}
	if fam["used"] != fam["started"] {
		t.Errorf("rf:fam1 used = %q, want started %q", fam["used"], fam["started"])
	}
	delete(fam, "started")
	delete(fam, "used")
	if want := map[string]string{"user_id": "user1", "current": "h1", "address": "203.0.113.7", "agent": "curl/8.5.0"}; !maps.Equal(fam, want) {
		t.Errorf("rf:fam1 = %v, want %v and started, used", fam, want)
	}
	// The user's index has the family, scored by when it expires.
	index, err := rdb.ZRangeWithScores(ctx, p+"uf:user1", 0, -1).Result()
	if err != nil || len(index) != 1 || index[0].Member != "fam1" ||
		!within(time.Duration(int64(index[0].Score)-started)*time.Millisecond, ttl, ttl) {
		t.Errorf("uf:user1 = %v, %v; want fam1 scored started + %s", index, err, ttl)
	}
	for _, key := range []string{p + "rt:h1", p + "rf:fam1", p + "uf:user1"} {
		if got := rdb.PTTL(ctx, key).Val(); !within(got, ttl-5*time.Second, ttl) {
			t.Errorf("PTTL(%s) = %s, want about %s", key, got, ttl)
		}
	}
}

func TestSessionsStartRejectsBadInput(t *testing.T) {
	t.Parallel()
	// No Redis needed: input is checked before any command is sent.
	s := redis.NewSessions(goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"}), "x:")
	ctx := t.Context()
	tests := []struct {
		name string
		sess auth.Session
		hash string
		life auth.Lifetime
	}{
		{"no family", auth.Session{UserID: "u"}, "h", life},
		{"no user", auth.Session{Family: "f"}, "h", life},
		{"no hash", auth.Session{Family: "f", UserID: "u"}, "", life},
		{"zero ttl", auth.Session{Family: "f", UserID: "u"}, "h", auth.Lifetime{Absolute: time.Hour}},
		{"negative ttl", auth.Session{Family: "f", UserID: "u"}, "h", auth.Lifetime{Idle: -time.Second, Absolute: time.Hour}},
		{"zero absolute lifetime", auth.Session{Family: "f", UserID: "u"}, "h", auth.Lifetime{Idle: time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Start(ctx, tt.sess, tt.hash, tt.life, auth.Origin{}); err == nil {
				t.Fatal("Start succeeded, want an error")
			}
		})
	}
}

func TestSessionsRotateChain(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	s := redis.NewSessions(rdb, p)
	want := auth.Session{Family: "fam", UserID: "user42"}
	if err := s.Start(ctx, want, "h0", life, auth.Origin{}); err != nil {
		t.Fatalf("Start: %v", err)
	}

	for i := 1; i <= 5; i++ {
		old, cur := fmt.Sprintf("h%d", i-1), fmt.Sprintf("h%d", i)
		got, err := s.Rotate(ctx, old, cur, life)
		if err != nil {
			t.Fatalf("Rotate %s -> %s: %v", old, cur, err)
		}
		if got != want {
			t.Fatalf("Rotate %s -> %s = %+v, want %+v", old, cur, got, want)
		}
		if got, err := s.Find(ctx, cur); err != nil || got != want {
			t.Fatalf("Find(%s) = %+v, %v; want %+v", cur, got, err, want)
		}
		if _, err := s.Find(ctx, old); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("Find(%s) after rotation: err = %v, want ErrInvalidToken", old, err)
		}
	}
	if cur := rdb.HGet(ctx, p+"rf:fam", "current").Val(); cur != "h5" {
		t.Errorf("family current = %q, want h5", cur)
	}
	if got := rdb.PTTL(ctx, p+"rt:h5").Val(); !within(got, ttl-5*time.Second, ttl) {
		t.Errorf("PTTL(rt:h5) = %s, want about %s", got, ttl)
	}
}

func TestSessionsRotateExtendsFamilyNeverShortens(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	s := redis.NewSessions(rdb, p)
	idle := func(d time.Duration) auth.Lifetime { return auth.Lifetime{Idle: d, Absolute: 24 * time.Hour} }
	if err := s.Start(ctx, auth.Session{Family: "fam", UserID: "u"}, "h0", idle(time.Minute), auth.Origin{}); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Rotate(ctx, "h0", "h1", idle(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := rdb.PTTL(ctx, p+"rf:fam").Val(); !within(got, time.Hour-5*time.Second, time.Hour) {
		t.Errorf("family PTTL after a longer TTL = %s, want about 1h", got)
	}
	if _, err := s.Rotate(ctx, "h1", "h2", idle(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := rdb.PTTL(ctx, p+"rf:fam").Val(); got < time.Hour-5*time.Second {
		t.Errorf("family PTTL after a shorter TTL = %s, want it kept at about 1h", got)
	}
	if got := rdb.PTTL(ctx, p+"rt:h2").Val(); !within(got, time.Minute-5*time.Second, time.Minute) {
		t.Errorf("token PTTL = %s, want about 1m", got)
	}
}

// A rotation never issues a token that outlives the family's absolute
// lifetime, and never stretches the family past it: both expire when the
// family reaches its age.
func TestSessionsRotateCapsAtFamilyEnd(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	s := redis.NewSessions(rdb, p)
	l := auth.Lifetime{Idle: time.Hour, Absolute: time.Minute}
	if err := s.Start(ctx, auth.Session{Family: "fam", UserID: "u"}, "h0", l, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, "h0", "h1", l); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{p + "rt:h0", p + "rt:h1", p + "rf:fam"} {
		if got := rdb.PTTL(ctx, key).Val(); !within(got, time.Minute-5*time.Second, time.Minute) {
			t.Errorf("PTTL(%s) = %s, want about the family's %s, not the idle %s", key, got, l.Absolute, l.Idle)
		}
	}
}

// A family past its absolute lifetime (here: started an hour ago, on the
// Redis clock, as a longer configured lifetime or a clock step could leave
// it) no longer rotates, and ends so no other call takes it for live.
func TestSessionsRotateRefusesAgedFamily(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	s := redis.NewSessions(rdb, p)
	if err := s.Start(ctx, auth.Session{Family: "fam", UserID: "u"}, "h0", life, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	hourAgo := redisNow(t, rdb).Add(-time.Hour).UnixMilli()
	if err := rdb.HSet(ctx, p+"rf:fam", "started", hourAgo).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, "h0", "h1", auth.Lifetime{Idle: time.Minute, Absolute: 30 * time.Minute}); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("Rotate of a family older than its lifetime: err = %v, want ErrInvalidToken", err)
	}
	if n := rdb.Exists(ctx, p+"rf:fam").Val(); n != 0 {
		t.Error("the family is still there after the refused rotation")
	}
	if n := rdb.ZCard(ctx, p+"uf:u").Val(); n != 0 {
		t.Errorf("the user's index has %d families after the refused rotation, want 0", n)
	}
	if n := rdb.Exists(ctx, p+"rt:h1").Val(); n != 0 {
		t.Error("the refused rotation stored its new token")
	}
}

// A family written before families had a start time gets one at its next
// rotation: its absolute lifetime runs from then, instead of never.
func TestSessionsRotateStartsLifetimeOfOlderFamily(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	s := redis.NewSessions(rdb, p)
	_, err := rdb.TxPipelined(ctx, func(pp goredis.Pipeliner) error {
		pp.HSet(ctx, p+"rt:h0", "family", "fam", "user_id", "u")
		pp.PExpire(ctx, p+"rt:h0", time.Hour)
		pp.HSet(ctx, p+"rf:fam", "user_id", "u", "current", "h0", "revoked", "0")
		pp.PExpire(ctx, p+"rf:fam", time.Hour)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	l := auth.Lifetime{Idle: time.Hour, Absolute: time.Minute}
	if _, err := s.Rotate(ctx, "h0", "h1", l); err != nil {
		t.Fatalf("Rotate of a family without a start time: %v", err)
	}
	started, err := rdb.HGet(ctx, p+"rf:fam", "started").Int64()
	if now := redisNow(t, rdb); err != nil || !within(now.Sub(time.UnixMilli(started)), 0, 5*time.Second) {
		t.Errorf("started = %d, %v; want about %d (now)", started, err, now.UnixMilli())
	}
	if got := rdb.PTTL(ctx, p+"rt:h1").Val(); !within(got, time.Minute-5*time.Second, time.Minute) {
		t.Errorf("PTTL(rt:h1) = %s, want about %s", got, l.Absolute)
	}
}

// RevokeByToken deletes the family and its index entry: every token of it
// leads nowhere and is refused, and so is every access token naming it. It
// creates nothing for an unknown token.
func TestSessionsRevokeByTokenLayout(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	s := redis.NewSessions(rdb, p)
	want := auth.Session{Family: "fam", UserID: "u"}
	if err := s.Start(ctx, want, "h0", life, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.RevokeByToken(ctx, "h0"); err != nil || got != want {
		t.Fatalf("RevokeByToken = %+v, %v; want %+v", got, err, want)
	}
	if _, err := s.RevokeByToken(ctx, "nope"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("RevokeByToken(unknown): err = %v, want ErrInvalidToken", err)
	}
	if keys := rdb.Keys(ctx, p+"*").Val(); len(keys) != 1 || keys[0] != p+"rt:h0" {
		t.Errorf("keys after RevokeByToken = %v, want only rt:h0 (until it expires)", keys)
	}
}

func TestSessionsReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	s := redis.NewSessions(rdb, p)
	if err := s.Start(ctx, auth.Session{Family: "fam", UserID: "u"}, "h1", life, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, "h1", "h2", life); err != nil {
		t.Fatalf("first Rotate: %v", err)
	}

	// Token #1 again: reuse.
	if _, err := s.Rotate(ctx, "h1", "h3", life); !errors.Is(err, auth.ErrRefreshReused) {
		t.Fatalf("Rotate of rotated-away token: err = %v, want ErrRefreshReused", err)
	}
	// The legitimate holder's token #2 is dead too: the family is revoked.
	if _, err := s.Rotate(ctx, "h2", "h4", life); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("Rotate of current token of revoked family: err = %v, want ErrInvalidToken", err)
	}
	if _, err := s.Find(ctx, "h2"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("Find of current token of revoked family: err = %v, want ErrInvalidToken", err)
	}
	// Replaying token #1 once more finds the family already revoked.
	if _, err := s.Rotate(ctx, "h1", "h5", life); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("second replay: err = %v, want ErrInvalidToken", err)
	}

	// The family is gone, and so is its index entry.
	if n := rdb.Exists(ctx, p+"rf:fam", p+"uf:u").Val(); n != 0 {
		t.Errorf("%d of the family and its user's index still exist after reuse, want none", n)
	}
	// Refused rotations created no token records.
	for _, h := range []string{"h3", "h4", "h5"} {
		if n := rdb.Exists(ctx, p+"rt:"+h).Val(); n != 0 {
			t.Errorf("rt:%s exists after a refused rotation", h)
		}
	}
}

func TestSessionsRotateInvalid(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	s := redis.NewSessions(rdb, p)
	if err := s.Start(ctx, auth.Session{Family: "live", UserID: "u"}, "live", life, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, auth.Session{Family: "gone", UserID: "u"}, "orphan", life, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Del(ctx, p+"rf:gone").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, auth.Session{Family: "revoked", UserID: "u"}, "revoked", life, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, "revoked"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		hash string
	}{
		{"unknown token", "nope"},
		{"family missing", "orphan"},
		{"family revoked", "revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Rotate(ctx, tt.hash, "new-"+tt.hash, life); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("Rotate: err = %v, want ErrInvalidToken", err)
			}
			if _, err := s.Find(ctx, tt.hash); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("Find: err = %v, want ErrInvalidToken", err)
			}
			if n := rdb.Exists(ctx, p+"rt:new-"+tt.hash).Val(); n != 0 {
				t.Errorf("new token recorded after a refused rotation")
			}
		})
	}
	// The other families are untouched.
	if got, err := s.Find(ctx, "live"); err != nil || got.Family != "live" {
		t.Errorf("Find(live) = %+v, %v", got, err)
	}
}

func TestSessionsExpire(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	s := redis.NewSessions(rdb, p)
	const short = 200 * time.Millisecond
	if err := s.Start(ctx, auth.Session{Family: "fam", UserID: "u"}, "h1", auth.Lifetime{Idle: short, Absolute: time.Hour}, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Find(ctx, "h1"); err != nil {
		t.Fatalf("Find before expiry: %v", err)
	}

	// Redis expires the keys on its own clock: wait for that.
	var err error
	if !testenv.Eventually(5*time.Second, 10*time.Millisecond, func() bool {
		_, err = s.Find(ctx, "h1")
		return errors.Is(err, auth.ErrInvalidToken)
	}) {
		t.Fatalf("Find long after expiry: err = %v, want ErrInvalidToken", err)
	}
	if _, err := s.Rotate(ctx, "h1", "h2", life); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Rotate after expiry: err = %v, want ErrInvalidToken", err)
	}
	if n := rdb.Exists(ctx, p+"rt:h1", p+"rf:fam", p+"rt:h2").Val(); n != 0 {
		t.Errorf("%d keys left after expiry, want 0", n)
	}
}

// TestSessionsRotateRace presents one token from many goroutines at once, as
// a thief racing the rightful client would: exactly one rotation wins, the
// first loser is reported as reuse and revokes the family, and every later
// one finds the family revoked.
func TestSessionsRotateRace(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	s := redis.NewSessions(rdb, p)
	if err := s.Start(ctx, auth.Session{Family: "fam", UserID: "u"}, "h0", life, auth.Origin{}); err != nil {
		t.Fatal(err)
	}

	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.Rotate(ctx, "h0", fmt.Sprintf("new%d", i), life)
		})
	}
	close(start)
	wg.Wait()

	var ok, reused, invalid int
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
			winner = i
		case errors.Is(err, auth.ErrRefreshReused):
			reused++
		case errors.Is(err, auth.ErrInvalidToken):
			invalid++
		default:
			t.Errorf("goroutine %d: unexpected error %v", i, err)
		}
	}
	if ok != 1 || reused != 1 || invalid != n-2 {
		t.Fatalf("outcomes: %d ok, %d reused, %d invalid; want 1, 1, %d", ok, reused, invalid, n-2)
	}
	// The winner's new token died with the family.
	if _, err := s.Find(ctx, fmt.Sprintf("new%d", winner)); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Find(winner's token): err = %v, want ErrInvalidToken", err)
	}
}

func TestSessionsRevoke(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	s := redis.NewSessions(rdb, p)
	if err := s.Start(ctx, auth.Session{Family: "a", UserID: "u"}, "ha", life, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, auth.Session{Family: "b", UserID: "u"}, "hb", life, auth.Origin{}); err != nil {
		t.Fatal(err)
	}

	if err := s.Revoke(ctx, "a"); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if _, err := s.Find(ctx, "ha"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Find(revoked): err = %v, want ErrInvalidToken", err)
	}
	if _, err := s.Rotate(ctx, "ha", "ha2", life); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Rotate(revoked): err = %v, want ErrInvalidToken", err)
	}
	if got, err := s.Find(ctx, "hb"); err != nil || got != (auth.Session{Family: "b", UserID: "u"}) {
		t.Errorf("Find(other family) = %+v, %v", got, err)
	}

	// Revoking again, or a family that never existed, is harmless and
	// creates nothing.
	if err := s.Revoke(ctx, "a"); err != nil {
		t.Errorf("second Revoke: %v", err)
	}
	if err := s.Revoke(ctx, "never"); err != nil {
		t.Errorf("Revoke(unknown): %v", err)
	}
	if n := rdb.Exists(ctx, p+"rf:never").Val(); n != 0 {
		t.Error("Revoke(unknown) created a family record")
	}
}

func TestSessionsRevokeAccess(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	s := redis.NewSessions(rdb, p)
	const short = 200 * time.Millisecond
	if err := s.Start(ctx, auth.Session{Family: "fam", UserID: "u"}, "h", life, auth.Origin{}); err != nil {
		t.Fatal(err)
	}

	if err := s.RevokeAccess(ctx, "jti-1", time.Now().Add(short)); err != nil {
		t.Fatalf("RevokeAccess: %v", err)
	}
	if err := s.RevokeAccess(ctx, "jti-past", time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("RevokeAccess(past): %v", err)
	}
	if n := rdb.Exists(ctx, p+"jti:jti-past").Val(); n != 0 {
		t.Error("RevokeAccess(past) wrote a key")
	}
	// The expiry is rounded up to the millisecond, and Redis' clock may
	// differ slightly from ours: allow a few milliseconds over.
	if got := rdb.PTTL(ctx, p+"jti:jti-1").Val(); !within(got, 1, short+5*time.Millisecond) {
		t.Errorf("PTTL(jti-1) = %s, want in (0, %s]", got, short)
	}

	tests := []struct {
		jti  string
		want bool
	}{
		{"jti-1", true},
		{"jti-past", false},
		{"jti-other", false},
	}
	for _, tt := range tests {
		got, err := s.AccessRevoked(ctx, tt.jti, "fam")
		if err != nil || got != tt.want {
			t.Errorf("AccessRevoked(%s) = %v, %v; want %v", tt.jti, got, err, tt.want)
		}
	}

	var (
		got bool
		err error
	)
	if !testenv.Eventually(5*time.Second, 10*time.Millisecond, func() bool {
		got, err = s.AccessRevoked(ctx, "jti-1", "fam")
		return err == nil && !got
	}) {
		t.Errorf("AccessRevoked long after expiry = %v, %v; want false", got, err)
	}
}

// TestRedisDown checks that Redis failures are reported as failures, never as
// an invalid token or an unthrottled key: the transport turns them into
// UNAVAILABLE. It needs no Redis and runs under -short.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	unreachable := goredis.NewClient(&goredis.Options{
		Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1,
	})
	t.Cleanup(func() { _ = unreachable.Close() })
	closed := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr})
	_ = closed.Close()

	clients := map[string]goredis.UniversalClient{"unreachable": unreachable, "closed": closed}
	for name, rdb := range clients {
		s := redis.NewSessions(rdb, "x:")
		th := redis.NewThrottle(rdb, "x:")
		ops := map[string]func() error{
			"Start": func() error {
				return s.Start(t.Context(), auth.Session{Family: "f", UserID: "u"}, "h", life, auth.Origin{})
			},
			"Rotate":        func() error { _, err := s.Rotate(t.Context(), "h", "h2", life); return err },
			"Find":          func() error { _, err := s.Find(t.Context(), "h"); return err },
			"RevokeByToken": func() error { _, err := s.RevokeByToken(t.Context(), "h"); return err },
			"Revoke":        func() error { return s.Revoke(t.Context(), "f") },
			"RevokeUser":    func() error { _, err := s.RevokeUser(t.Context(), "u"); return err },
			"RevokeAccess": func() error {
				return s.RevokeAccess(t.Context(), "j", time.Now().Add(time.Minute))
			},
			"AccessRevoked": func() error { _, err := s.AccessRevoked(t.Context(), "j", "f"); return err },
			"Reserve": func() error {
				_, err := th.Reserve(t.Context(), auth.Quota{Key: "k", Limit: 1, Window: time.Minute})
				return err
			},
			"Release": func() error { return th.Release(t.Context(), []string{"k"}, []string{"l"}) },
		}
		for op, call := range ops {
			t.Run(name+"/"+op, func(t *testing.T) {
				err := call()
				if err == nil {
					t.Fatal("no error")
				}
				if errors.Is(err, auth.ErrInvalidToken) || errors.Is(err, auth.ErrRefreshReused) {
					t.Fatalf("err = %v, reported as a token problem", err)
				}
				if name == "closed" && !errors.Is(err, goredis.ErrClosed) {
					t.Errorf("err = %v, want it to wrap goredis.ErrClosed", err)
				}
			})
		}
	}
}

// redisNow is the Redis server's clock, which family ages are measured on.
func redisNow(t testing.TB, rdb goredis.UniversalClient) time.Time {
	t.Helper()
	now, err := rdb.Time(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return now
}

// A user has at most redis.MaxFamiliesPerUser live families: the login
// past that ends the family closest to expiring, and only that one.
func TestSessionsFamiliesPerUserCapped(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 20*time.Second)
	s := redis.NewSessions(rdb, p)
	// Idle TTLs growing with i make family 0 the one closest to expiring.
	for i := range redis.MaxFamiliesPerUser {
		l := auth.Lifetime{Idle: time.Hour + time.Duration(i)*time.Second, Absolute: 24 * time.Hour}
		if err := s.Start(ctx, auth.Session{Family: fmt.Sprint("f", i), UserID: "u"}, fmt.Sprint("h", i), l, auth.Origin{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Start(ctx, auth.Session{Family: "new", UserID: "u"}, "hnew",
		auth.Lifetime{Idle: 2 * time.Hour, Absolute: 24 * time.Hour}, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Find(ctx, "h0"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Find(family closest to expiring) past the cap: err = %v, want ErrInvalidToken", err)
	}
	for _, h := range []string{"h1", fmt.Sprint("h", redis.MaxFamiliesPerUser-1), "hnew"} {
		if _, err := s.Find(ctx, h); err != nil {
			t.Errorf("Find(%s) past the cap: %v", h, err)
		}
	}
	got, err := s.List(ctx, "u")
	if err != nil || len(got) != redis.MaxFamiliesPerUser {
		t.Errorf("List past the cap = %d families, %v; want %d", len(got), err, redis.MaxFamiliesPerUser)
	}
}

// Expired families leave the user's index when the user's sessions are
// listed, so the index does not grow with logins long gone.
func TestSessionsListDropsExpiredFamilies(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 20*time.Second)
	s := redis.NewSessions(rdb, p)
	if err := s.Start(ctx, auth.Session{Family: "short", UserID: "u"}, "hs", auth.Lifetime{Idle: 100 * time.Millisecond, Absolute: time.Hour}, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, auth.Session{Family: "long", UserID: "u"}, "hl", life, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	var (
		got []auth.SessionInfo
		err error
	)
	if !testenv.Eventually(5*time.Second, 10*time.Millisecond, func() bool {
		got, err = s.List(ctx, "u")
		return err == nil && len(got) == 1
	}) {
		t.Fatalf("List after the short family's TTL = %+v, want only the long one", got)
	}
	if members := rdb.ZRange(ctx, p+"uf:u", 0, -1).Val(); len(members) != 1 || members[0] != "long" {
		t.Errorf("uf:u = %v after List, want [long]", members)
	}
}

// A family written before the index existed joins it at its next rotation,
// from when on RevokeUser and List reach it.
func TestSessionsRotateIndexesOlderFamily(t *testing.T) {
	t.Parallel()
	rdb, p := testRedis(t)
	ctx := testenv.Context(t, 10*time.Second)
	s := redis.NewSessions(rdb, p)
	_, err := rdb.TxPipelined(ctx, func(pp goredis.Pipeliner) error {
		pp.HSet(ctx, p+"rt:h0", "family", "fam", "user_id", "u")
		pp.PExpire(ctx, p+"rt:h0", time.Hour)
		pp.HSet(ctx, p+"rf:fam", "user_id", "u", "current", "h0", "revoked", "0", "started", redisNow(t, rdb).UnixMilli())
		pp.PExpire(ctx, p+"rf:fam", time.Hour)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, "h0", "h1", life); err != nil {
		t.Fatal(err)
	}
	if got, err := s.List(ctx, "u"); err != nil || len(got) != 1 || got[0].Family != "fam" {
		t.Errorf("List after the rotation = %+v, %v; want the older family", got, err)
	}
	if got := rdb.PTTL(ctx, p+"uf:u").Val(); !within(got, ttl-5*time.Second, ttl) {
		t.Errorf("PTTL(uf:u) = %s, want about %s", got, ttl)
	}
	if n, err := s.RevokeUser(ctx, "u"); err != nil || n != 1 {
		t.Errorf("RevokeUser = %d, %v; want 1", n, err)
	}
	if _, err := s.Find(ctx, "h1"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Find after RevokeUser: err = %v, want ErrInvalidToken", err)
	}
}
