package redis_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/redis"
)

// durabilities are the two ways sso can write: "async" returns as soon as
// the master has the write, "wait" also waits in the same round trip until
// a replica has it (redis.WaitForReplica, sso's default).
var durabilities = []struct {
	name string
	opts []redis.Option
}{
	{"async", nil},
	{"wait", []redis.Option{redis.WaitForReplica(time.Second)}},
}

// BenchmarkRotate measures one refresh: a chain of rotations of one family,
// each a single EVALSHA round trip (with its WAIT in the same pipeline).
func BenchmarkRotate(b *testing.B) {
	for _, d := range durabilities {
		b.Run(d.name, func(b *testing.B) { benchmarkRotate(b, d.opts) })
	}
}

func benchmarkRotate(b *testing.B, opts []redis.Option) {
	rdb, p := testRedis(b)
	ctx := b.Context()
	s := redis.NewSessions(rdb, p, opts...)
	if err := s.Start(ctx, auth.Session{Family: "fam", UserID: "u"}, "h0", auth.Lifetime{Idle: time.Hour, Absolute: 24 * time.Hour}, auth.Origin{}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		old, next := "h"+strconv.Itoa(i), "h"+strconv.Itoa(i+1)
		if _, err := s.Rotate(ctx, old, next, auth.Lifetime{Idle: time.Hour, Absolute: 24 * time.Hour}); err != nil {
			b.Fatalf("Rotate #%d: %v", i, err)
		}
		i++
	}
}

// BenchmarkAccessRevoked measures the check every authenticated request
// makes, half on a revoked jti and half on one that is not.
func BenchmarkAccessRevoked(b *testing.B) {
	s, ctx := revokedSessions(b)
	jtis := [2]string{"revoked", "live"}
	i := 0
	for b.Loop() {
		got, err := s.AccessRevoked(ctx, jtis[i%2], "fam")
		if err != nil || got != (i%2 == 0) {
			b.Fatalf("AccessRevoked(%s) = %v, %v", jtis[i%2], got, err)
		}
		i++
	}
}

// BenchmarkAccessRevokedParallel measures the same check made by many
// goroutines at once, as under load, where checks share pipelines.
func BenchmarkAccessRevokedParallel(b *testing.B) {
	s, ctx := revokedSessions(b)
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if got, err := s.AccessRevoked(ctx, "revoked", "fam"); err != nil || !got {
				b.Errorf("AccessRevoked(revoked) = %v, %v", got, err)
				return
			}
		}
	})
}

// revokedSessions returns Sessions on the test Redis in which the family
// "fam" is live and, of its access tokens, jti "revoked" is revoked and
// "live" is not.
func revokedSessions(b *testing.B) (*redis.Sessions, context.Context) {
	b.Helper()
	rdb, p := testRedis(b)
	ctx := b.Context()
	s := redis.NewSessions(rdb, p)
	if err := s.Start(ctx, auth.Session{Family: "fam", UserID: "u"}, "h", auth.Lifetime{Idle: time.Hour, Absolute: time.Hour}, auth.Origin{}); err != nil {
		b.Fatal(err)
	}
	if err := s.RevokeAccess(ctx, "revoked", time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	return s, ctx
}

// loginQuotas are the three counts of a login attempt (see auth.Limits),
// with limits no benchmark reaches.
var loginQuotas = []auth.Quota{
	{Key: "login:account-address:203.0.113.7/ada@example.com", Limit: 1 << 30, Window: time.Minute},
	{Key: "login:account:ada@example.com", Limit: 1 << 30, Window: time.Minute},
	{Key: "login:address:203.0.113.7", Limit: 1 << 30, Window: time.Minute},
}

// BenchmarkRevokeAccess measures the access-token half of a logout.
func BenchmarkRevokeAccess(b *testing.B) {
	for _, d := range durabilities {
		b.Run(d.name, func(b *testing.B) {
			rdb, p := testRedis(b)
			ctx := b.Context()
			s := redis.NewSessions(rdb, p, d.opts...)
			until := time.Now().Add(time.Hour)
			i := 0
			for b.Loop() {
				if err := s.RevokeAccess(ctx, "jti"+strconv.Itoa(i), until); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkThrottleLoginSuccess measures the throttle's part of a
// successful login: the reservation before the hash and the release
// after it, two round trips.
func BenchmarkThrottleLoginSuccess(b *testing.B) {
	for _, d := range durabilities {
		b.Run(d.name, func(b *testing.B) { benchmarkThrottleLoginSuccess(b, d.opts) })
	}
}

func benchmarkThrottleLoginSuccess(b *testing.B, opts []redis.Option) {
	rdb, p := testRedis(b)
	ctx := b.Context()
	th := redis.NewThrottle(rdb, p, opts...)
	for b.Loop() {
		if r, err := th.Reserve(ctx, loginQuotas...); err != nil || r.Refused >= 0 {
			b.Fatalf("Reserve = %+v, %v", r, err)
		}
		if err := th.Release(ctx, []string{loginQuotas[1].Key, loginQuotas[2].Key}, []string{loginQuotas[0].Key}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkThrottleLoginFailure measures the throttle's part of a failed
// login: the reservation alone, one round trip.
func BenchmarkThrottleLoginFailure(b *testing.B) {
	for _, d := range durabilities {
		b.Run(d.name, func(b *testing.B) { benchmarkThrottleLoginFailure(b, d.opts) })
	}
}

func benchmarkThrottleLoginFailure(b *testing.B, opts []redis.Option) {
	rdb, p := testRedis(b)
	ctx := b.Context()
	th := redis.NewThrottle(rdb, p, opts...)
	for b.Loop() {
		if r, err := th.Reserve(ctx, loginQuotas...); err != nil || r.Refused >= 0 {
			b.Fatalf("Reserve = %+v, %v", r, err)
		}
	}
}
