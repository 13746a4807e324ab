package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/services/sso/internal/auth"
)

var _ auth.Sessions = (*Sessions)(nil)

// Sessions keeps refresh-token families and revoked access tokens in Redis
// (see the package documentation for the key layout). It is safe for
// concurrent use by any number of goroutines and sso replicas: each
// operation is a single atomic step on the server.
type Sessions struct {
	rdb     goredis.UniversalClient
	prefix  string
	revoked *existsBatcher
	durable *replication
}

// NewSessions returns Sessions storing its keys under prefix (for example
// "sso:") in rdb. It does not connect: the first operation does.
//
// With WaitForReplica, Rotate, Revoke, RevokeByToken and RevokeAccess
// return only once a replica has the change (see WaitForReplica); Start
// does not wait (a login lost in a failover only has to be repeated), nor
// do the reads.
func NewSessions(rdb goredis.UniversalClient, prefix string, opts ...Option) *Sessions {
	return &Sessions{rdb: rdb, prefix: prefix, revoked: newExistsBatcher(rdb), durable: newReplication(opts)}
}

func (s *Sessions) tokenKey(hash string) string    { return s.prefix + "rt:" + hash }
func (s *Sessions) familyPrefix() string           { return s.prefix + "rf:" }
func (s *Sessions) familyKey(family string) string { return s.familyPrefix() + family }
func (s *Sessions) accessKey(jti string) string    { return s.prefix + "jti:" + jti }

// nowMillisLua sets now to the Redis server's clock in milliseconds. Family
// ages are measured on that one clock, not on each replica's, so skewed sso
// hosts agree on when a family ends.
const nowMillisLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// startScript writes a family and its first token in one step, so a crash
// never leaves one without the other.
//
// KEYS[1] token, KEYS[2] family; ARGV[1] family id, ARGV[2] user id,
// ARGV[3] token hash, ARGV[4] TTL in milliseconds.
var startScript = goredis.NewScript(nowMillisLua + `
redis.call('HSET', KEYS[1], 'family', ARGV[1], 'user_id', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('HSET', KEYS[2], 'user_id', ARGV[2], 'current', ARGV[3], 'revoked', '0', 'started', now)
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 0
`)

// Start records a new family sess whose current refresh token hashes to
// hash, started now: the token and the family expire after l.Idle, or
// l.Absolute if that is shorter.
func (s *Sessions) Start(ctx context.Context, sess auth.Session, hash string, l auth.Lifetime) error {
	if sess.Family == "" || sess.UserID == "" || hash == "" {
		return errors.New("redis: session needs a family, a user id and a token hash")
	}
	if err := checkLifetime(l); err != nil {
		return err
	}
	err := startScript.Run(ctx, s.rdb, []string{s.tokenKey(hash), s.familyKey(sess.Family)},
		sess.Family, sess.UserID, hash, ceilMillis(min(l.Idle, l.Absolute)).Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

func checkLifetime(l auth.Lifetime) error {
	if l.Idle <= 0 || l.Absolute <= 0 {
		return fmt.Errorf("redis: session lifetimes must be positive, got idle %s, absolute %s", l.Idle, l.Absolute)
	}
	return nil
}

// Script results: the first element of the reply says which case applied.
const (
	resultInvalid = 0 // unknown or expired token, missing or revoked family
	resultOK      = 1 // {1, family, user_id}
	resultReused  = 2 // a rotated-away token of a live family was presented
)

// rotateScript checks and rotates in one step, so no two callers can both
// see the same current token, and the new token's TTL is capped by the
// family's age read in the same step.
//
// KEYS[1] old token, KEYS[2] new token; ARGV[1] family key prefix,
// ARGV[2] old hash, ARGV[3] new hash, ARGV[4] idle TTL and ARGV[5] absolute
// lifetime, in milliseconds.
var rotateScript = goredis.NewScript(nowMillisLua + `
local family = redis.call('HGET', KEYS[1], 'family')
if not family then return {0} end
local fkey = ARGV[1] .. family
local f = redis.call('HMGET', fkey, 'user_id', 'current', 'revoked', 'started')
if not f[1] or f[3] == '1' then return {0} end
if f[2] ~= ARGV[2] then
  redis.call('HSET', fkey, 'revoked', '1')
  return {2}
end
local started = tonumber(f[4])
if not started then
  -- A family from before absolute lifetimes: its lifetime starts now.
  started = now
  redis.call('HSET', fkey, 'started', now)
end
local left = started + tonumber(ARGV[5]) - now
if left <= 0 then
  redis.call('HSET', fkey, 'revoked', '1')
  return {0}
end
local ttl = math.min(tonumber(ARGV[4]), left)
redis.call('HSET', fkey, 'current', ARGV[3])
redis.call('PEXPIRE', fkey, ttl, 'GT')
redis.call('HSET', KEYS[2], 'family', family, 'user_id', f[1])
redis.call('PEXPIRE', KEYS[2], ttl)
return {1, family, f[1]}
`)

// Rotate makes newHash the current token of oldHash's family and returns the
// family's session. newHash expires after l.Idle, or when the family reaches
// l.Absolute of age if that comes first; the family record lives at least
// as long as its newest token.
//
// It returns auth.ErrInvalidToken when oldHash is unknown or expired, or its
// family is missing, revoked or older than l.Absolute (the family is then
// revoked). When oldHash belongs to a live family but is no longer its
// current token, someone is replaying a token that was already rotated: the
// family is revoked (kept, marked revoked, until it expires) and Rotate
// returns auth.ErrRefreshReused.
//
// The check and the update are one Lua script, so of two concurrent calls
// with the same token exactly one wins; the other is treated as reuse and
// revokes the family, including the token the winner just received. That is
// deliberate: the server cannot tell a client retrying from an attacker
// racing it with a stolen copy, and the safe answer is to end the login.
// Further calls with any token of the family then get auth.ErrInvalidToken.
func (s *Sessions) Rotate(ctx context.Context, oldHash, newHash string, l auth.Lifetime) (auth.Session, error) {
	if err := checkLifetime(l); err != nil {
		return auth.Session{}, err
	}
	res, err := s.durable.run(ctx, s.rdb, rotateScript,
		[]string{s.tokenKey(oldHash), s.tokenKey(newHash)},
		s.familyPrefix(), oldHash, newHash, ceilMillis(l.Idle).Milliseconds(), ceilMillis(l.Absolute).Milliseconds(),
	).Slice()
	if err != nil {
		return auth.Session{}, fmt.Errorf("redis: %w", err)
	}
	return decodeSession(res)
}

// findScript is Find as one round trip.
//
// KEYS[1] token; ARGV[1] family key prefix, ARGV[2] token hash.
var findScript = goredis.NewScript(`
local family = redis.call('HGET', KEYS[1], 'family')
if not family then return {0} end
local f = redis.call('HMGET', ARGV[1] .. family, 'user_id', 'current', 'revoked')
if not f[1] or f[3] == '1' or f[2] ~= ARGV[2] then return {0} end
return {1, family, f[1]}
`)

// Find returns the session whose current token hashes to hash. A token that
// is unknown, expired, rotated away or of a revoked family returns
// auth.ErrInvalidToken; unlike Rotate, Find never revokes anything.
func (s *Sessions) Find(ctx context.Context, hash string) (auth.Session, error) {
	res, err := findScript.Run(ctx, s.rdb, []string{s.tokenKey(hash)}, s.familyPrefix(), hash).Slice()
	if err != nil {
		return auth.Session{}, fmt.Errorf("redis: %w", err)
	}
	return decodeSession(res)
}

// revokeScript marks a family revoked without creating it: HSET on a missing
// key would create a record with no TTL.
var revokeScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'revoked', '1')
end
return 0
`)

// Revoke ends a family: none of its refresh tokens is accepted again. The
// family record is kept, marked revoked, until it expires. Revoking a family
// that is unknown or already expired is not an error (logging out twice is
// harmless).
func (s *Sessions) Revoke(ctx context.Context, family string) error {
	if err := s.durable.run(ctx, s.rdb, revokeScript, []string{s.familyKey(family)}).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// revokeByTokenScript ends the family a token belongs to, current or
// rotated away, in one step.
//
// KEYS[1] token; ARGV[1] family key prefix.
var revokeByTokenScript = goredis.NewScript(`
local family = redis.call('HGET', KEYS[1], 'family')
if not family then return {0} end
local fkey = ARGV[1] .. family
local f = redis.call('HMGET', fkey, 'user_id', 'revoked')
if not f[1] or f[2] == '1' then return {0} end
redis.call('HSET', fkey, 'revoked', '1')
return {1, family, f[1]}
`)

// RevokeByToken ends the family of the token that hashes to hash, whether
// the token is the family's current one or a rotated-away one that has not
// expired yet, and returns the session it ended. It returns
// auth.ErrInvalidToken, having changed nothing, when the token is unknown
// or expired or its family is missing or already revoked. The family is
// found only through the token's record, so ending one takes a token of it.
func (s *Sessions) RevokeByToken(ctx context.Context, hash string) (auth.Session, error) {
	res, err := s.durable.run(ctx, s.rdb, revokeByTokenScript, []string{s.tokenKey(hash)}, s.familyPrefix()).Slice()
	if err != nil {
		return auth.Session{}, fmt.Errorf("redis: %w", err)
	}
	return decodeSession(res)
}

// RevokeAccess marks the access token jti revoked until until, its expiry;
// after that the token is refused for being expired and the mark goes away.
// A time already past records nothing.
func (s *Sessions) RevokeAccess(ctx context.Context, jti string, until time.Time) error {
	if !until.After(time.Now()) {
		return nil
	}
	// Round up: the mark must not end before the token does.
	at := (until.UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond)
	if err := s.durable.do(ctx, s.rdb, "SET", s.accessKey(jti), "1", "PXAT", at).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// AccessRevoked reports whether the access token jti was revoked and has not
// expired yet. Concurrent checks share round trips (see existsBatcher).
func (s *Sessions) AccessRevoked(ctx context.Context, jti string) (bool, error) {
	revoked, err := s.revoked.exists(ctx, s.accessKey(jti))
	if err != nil {
		return false, fmt.Errorf("redis: %w", err)
	}
	return revoked, nil
}

// decodeSession turns a rotate or find script reply into its result.
func decodeSession(res []any) (auth.Session, error) {
	if len(res) == 0 {
		return auth.Session{}, errors.New("redis: empty script reply")
	}
	code, _ := res[0].(int64)
	switch code {
	case resultInvalid:
		return auth.Session{}, auth.ErrInvalidToken
	case resultReused:
		return auth.Session{}, auth.ErrRefreshReused
	case resultOK:
		if len(res) == 3 {
			family, ok1 := res[1].(string)
			userID, ok2 := res[2].(string)
			if ok1 && ok2 {
				return auth.Session{Family: family, UserID: userID}, nil
			}
		}
	}
	return auth.Session{}, fmt.Errorf("redis: unexpected script reply %v", res)
}

// ceilMillis rounds d up to whole milliseconds, the resolution of PEXPIRE:
// a positive TTL never becomes 0 (which would delete the key) and a key
// never expires before the token it describes.
func ceilMillis(d time.Duration) time.Duration {
	return (d + time.Millisecond - 1) / time.Millisecond * time.Millisecond
}
