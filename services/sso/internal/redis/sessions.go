package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
// With WaitForReplica, Rotate, Revoke, RevokeByToken, RevokeOwned,
// RevokeUser and RevokeAccess return only once a replica has the change (see WaitForReplica); Start
// does not wait (a login lost in a failover only has to be repeated), nor
// do the reads.
func NewSessions(rdb goredis.UniversalClient, prefix string, opts ...Option) *Sessions {
	return &Sessions{rdb: rdb, prefix: prefix, revoked: newExistsBatcher(rdb), durable: newReplication(opts)}
}

func (s *Sessions) tokenKey(hash string) string    { return s.prefix + "rt:" + hash }
func (s *Sessions) familyPrefix() string           { return s.prefix + "rf:" }
func (s *Sessions) familyKey(family string) string { return s.familyPrefix() + family }
func (s *Sessions) accessKey(jti string) string    { return s.prefix + "jti:" + jti }
func (s *Sessions) indexPrefix() string            { return s.prefix + "uf:" }
func (s *Sessions) indexKey(userID string) string  { return s.indexPrefix() + userID }
func (s *Sessions) endedKey(userID string) string  { return s.prefix + "ue:" + userID }

// endedTTL is how long RevokeUser's mark stays: longer than any login takes
// from reading the password hash to starting its session, which is all the
// mark has to outlast.
const endedTTL = 10 * time.Minute

// nowMillisLua sets now to the Redis server's clock in milliseconds. Family
// ages are measured on that one clock, not on each replica's, so skewed sso
// hosts agree on when a family ends.
const nowMillisLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// indexLua defines index(key, family, expires, ttl), which records in the
// user's index key that family lives until expires (Unix milliseconds),
// never moving that earlier, and keeps the index as long as its
// longest-lived family. A new index has no TTL, which PEXPIRE GT takes for
// an infinite one: NX gives it one first.
const indexLua = `
local function index(key, family, expires, ttl)
  redis.call('ZADD', key, 'GT', expires, family)
  redis.call('PEXPIRE', key, ttl, 'NX')
  redis.call('PEXPIRE', key, ttl, 'GT')
end
`

// endLua defines finish(fkey, iprefix, family), which ends a family: its
// record goes, so its tokens, which lead only to it, lead nowhere, and
// access tokens naming it are refused; and it leaves its user's index. It
// returns 1 when the family was there.
const endLua = `
local function finish(fkey, iprefix, family)
  local user = redis.call('HGET', fkey, 'user_id')
  if not user then return 0 end
  redis.call('DEL', fkey)
  redis.call('ZREM', iprefix .. user, family)
  return 1
end
`

// startScript writes a family, its first token and its index entry in one
// step, so a crash never leaves one without the others, unless RevokeUser
// ended the user's sessions since the credentials were checked.
//
// KEYS[1] token, KEYS[2] family, KEYS[3] user index, KEYS[4] user's ended
// mark; ARGV[1] family id, ARGV[2] user id, ARGV[3] token hash, ARGV[4] TTL
// in milliseconds, ARGV[5] when the credentials were checked (Unix
// milliseconds, 0 for no check), ARGV[6] client address, ARGV[7] user
// agent, ARGV[8] MaxFamiliesPerUser, ARGV[9] family key prefix.
var startScript = goredis.NewScript(nowMillisLua + indexLua + `
if ARGV[5] ~= '0' then
  local ended = redis.call('GET', KEYS[4])
  if ended and tonumber(ended) >= tonumber(ARGV[5]) then return 1 end
end
redis.call('HSET', KEYS[1], 'family', ARGV[1], 'user_id', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('HSET', KEYS[2], 'user_id', ARGV[2], 'current', ARGV[3], 'started', now, 'used', now,
  'address', ARGV[6], 'agent', ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
-- Families that expired leave the index here rather than never; past the
-- cap, the families that would expire first end to make room.
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[8]) + 1
if over > 0 then
  for _, family in ipairs(redis.call('ZRANGE', KEYS[3], 0, over - 1)) do
    redis.call('DEL', ARGV[9] .. family)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, over - 1)
end
index(KEYS[3], ARGV[1], now + tonumber(ARGV[4]), ARGV[4])
return 0
`)

// MaxFamiliesPerUser bounds a user's live families: the login that would
// open one more ends the one closest to expiring. It keeps what one account
// costs in Redis, in a listing and in RevokeUser bounded however often its
// owner (or a script with its password) logs in.
const MaxFamiliesPerUser = 100

// Start records a new family sess whose current refresh token hashes to
// hash, started now: the token and the family expire after l.Idle, or
// l.Absolute if that is shorter. It returns auth.ErrSessionsEnded, having
// written nothing, when RevokeUser ran for the user at or after
// o.CheckedAt (compared on the Redis clock against sso's, so the guard is
// as sharp as the hosts' clocks agree).
func (s *Sessions) Start(ctx context.Context, sess auth.Session, hash string, l auth.Lifetime, o auth.Origin) error {
	if sess.Family == "" || sess.UserID == "" || hash == "" {
		return errors.New("redis: session needs a family, a user id and a token hash")
	}
	if err := checkLifetime(l); err != nil {
		return err
	}
	var checked int64
	if !o.CheckedAt.IsZero() {
		checked = max(o.CheckedAt.UnixMilli(), 1)
	}
	refused, err := startScript.Run(ctx, s.rdb,
		[]string{s.tokenKey(hash), s.familyKey(sess.Family), s.indexKey(sess.UserID), s.endedKey(sess.UserID)},
		sess.Family, sess.UserID, hash, ceilMillis(min(l.Idle, l.Absolute)).Milliseconds(),
		checked, o.ClientAddress, o.UserAgent, MaxFamiliesPerUser, s.familyPrefix()).Int()
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	if refused != 0 {
		return auth.ErrSessionsEnded
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
	resultReused  = 2 // {2, family, user_id}: a rotated-away token of a live family was presented
)

// rotateScript checks and rotates in one step, so no two callers can both
// see the same current token, and the new token's TTL is capped by the
// family's age read in the same step.
//
// KEYS[1] old token, KEYS[2] new token; ARGV[1] family key prefix,
// ARGV[2] old hash, ARGV[3] new hash, ARGV[4] idle TTL and ARGV[5] absolute
// lifetime, in milliseconds, ARGV[6] user index key prefix.
var rotateScript = goredis.NewScript(nowMillisLua + indexLua + endLua + `
local family = redis.call('HGET', KEYS[1], 'family')
if not family then return {0} end
local fkey = ARGV[1] .. family
local f = redis.call('HMGET', fkey, 'user_id', 'current', 'revoked', 'started')
if not f[1] then return {0} end
if f[3] == '1' then
  -- Revoked by a version that kept ended families: end it for good.
  finish(fkey, ARGV[6], family)
  return {0}
end
if f[2] ~= ARGV[2] then
  finish(fkey, ARGV[6], family)
  return {2, family, f[1]}
end
local started = tonumber(f[4])
if not started then
  -- A family from before absolute lifetimes: its lifetime starts now.
  started = now
  redis.call('HSET', fkey, 'started', now)
end
local left = started + tonumber(ARGV[5]) - now
if left <= 0 then
  finish(fkey, ARGV[6], family)
  return {0}
end
local ttl = math.min(tonumber(ARGV[4]), left)
redis.call('HSET', fkey, 'current', ARGV[3], 'used', now)
redis.call('PEXPIRE', fkey, ttl, 'GT')
-- A family started before the index existed joins it here.
index(ARGV[6] .. f[1], family, now + ttl, ttl)
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
// ended). When oldHash belongs to a live family but is no longer its
// current token, someone is replaying a token that was already rotated: the
// family is ended and Rotate returns auth.ErrRefreshReused.
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
		s.indexPrefix(),
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

// revokeScript ends a family, if it is there.
//
// KEYS[1] family; ARGV[1] user index key prefix, ARGV[2] family id.
var revokeScript = goredis.NewScript(endLua + `
return finish(KEYS[1], ARGV[1], ARGV[2])
`)

// Revoke ends a family: none of its refresh tokens is accepted again, nor
// any access token issued from it. Revoking a family that is unknown or
// already ended is not an error (logging out twice is harmless).
func (s *Sessions) Revoke(ctx context.Context, family string) error {
	if err := s.durable.run(ctx, s.rdb, revokeScript, []string{s.familyKey(family)}, s.indexPrefix(), family).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// revokeByTokenScript ends the family a token belongs to, current or
// rotated away, in one step.
//
// KEYS[1] token; ARGV[1] family key prefix, ARGV[2] user index key prefix.
var revokeByTokenScript = goredis.NewScript(endLua + `
local family = redis.call('HGET', KEYS[1], 'family')
if not family then return {0} end
local fkey = ARGV[1] .. family
local f = redis.call('HMGET', fkey, 'user_id', 'revoked')
if not f[1] then return {0} end
finish(fkey, ARGV[2], family)
if f[2] == '1' then return {0} end
return {1, family, f[1]}
`)

// RevokeByToken ends the family of the token that hashes to hash, whether
// the token is the family's current one or a rotated-away one that has not
// expired yet, and returns the session it ended. It returns
// auth.ErrInvalidToken, having changed nothing, when the token is unknown
// or expired or its family has ended. The family is found only through the
// token's record, so ending one takes a token of it.
func (s *Sessions) RevokeByToken(ctx context.Context, hash string) (auth.Session, error) {
	res, err := s.durable.run(ctx, s.rdb, revokeByTokenScript, []string{s.tokenKey(hash)},
		s.familyPrefix(), s.indexPrefix()).Slice()
	if err != nil {
		return auth.Session{}, fmt.Errorf("redis: %w", err)
	}
	return decodeSession(res)
}

// listScript reads a user's live families, dropping expired entries from
// the index on the way.
//
// KEYS[1] user index; ARGV[1] family key prefix, ARGV[2] user id.
var listScript = goredis.NewScript(nowMillisLua + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {}
for _, family in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local f = redis.call('HMGET', ARGV[1] .. family, 'user_id', 'started', 'used', 'address', 'agent', 'revoked')
  if f[1] == ARGV[2] and f[6] ~= '1' then
    local started = f[2] or f[3] or '0'
    table.insert(out, {family, started, f[3] or started, f[4] or '', f[5] or ''})
  end
end
return out
`)

// List returns the user's live families, most recently created first (at
// most MaxFamiliesPerUser).
func (s *Sessions) List(ctx context.Context, userID string) ([]auth.SessionInfo, error) {
	res, err := listScript.Run(ctx, s.rdb, []string{s.indexKey(userID)}, s.familyPrefix(), userID).Slice()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	out := make([]auth.SessionInfo, 0, len(res))
	for _, r := range res {
		f, ok := r.([]any)
		if !ok || len(f) != 5 {
			return nil, fmt.Errorf("redis: unexpected list entry %v", r)
		}
		var v [5]string
		for i := range f {
			if v[i], ok = f[i].(string); !ok {
				return nil, fmt.Errorf("redis: unexpected list entry %v", r)
			}
		}
		created, err1 := strconv.ParseInt(v[1], 10, 64)
		used, err2 := strconv.ParseInt(v[2], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("redis: family %s: %w", v[0], err)
		}
		out = append(out, auth.SessionInfo{
			Family: v[0], Created: time.UnixMilli(created).UTC(), LastUsed: time.UnixMilli(used).UTC(),
			ClientAddress: v[3], UserAgent: v[4],
		})
	}
	slices.SortFunc(out, func(a, b auth.SessionInfo) int {
		return cmp.Or(b.Created.Compare(a.Created), strings.Compare(a.Family, b.Family))
	})
	return out, nil
}

// revokeOwnedScript ends a family only if it belongs to the user.
//
// KEYS[1] family; ARGV[1] user index key prefix, ARGV[2] family id,
// ARGV[3] user id.
var revokeOwnedScript = goredis.NewScript(endLua + `
local f = redis.call('HMGET', KEYS[1], 'user_id', 'revoked')
if f[1] ~= ARGV[3] then return 0 end
finish(KEYS[1], ARGV[1], ARGV[2])
if f[2] == '1' then return 0 end
return 1
`)

// RevokeOwned ends family if it is a live family of userID, durably like
// Revoke, and reports whether it was. Another user's family is not touched
// and answers false, as an unknown one does.
func (s *Sessions) RevokeOwned(ctx context.Context, userID, family string) (bool, error) {
	if userID == "" {
		return false, errors.New("redis: RevokeOwned needs a user id")
	}
	n, err := s.durable.run(ctx, s.rdb, revokeOwnedScript, []string{s.familyKey(family)},
		s.indexPrefix(), family, userID).Int()
	if err != nil {
		return false, fmt.Errorf("redis: %w", err)
	}
	return n == 1, nil
}

// revokeUserScript ends every family in a user's index and marks the user's
// sessions ended as of now, for Start to hold against logins in flight.
//
// KEYS[1] user index, KEYS[2] user's ended mark; ARGV[1] family key
// prefix, ARGV[2] TTL of the mark in milliseconds.
var revokeUserScript = goredis.NewScript(nowMillisLua + `
local n = 0
for _, family in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  n = n + redis.call('DEL', ARGV[1] .. family)
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], now, 'PX', ARGV[2])
return n
`)

// RevokeUser ends every family of the user and returns how many were still
// there. A login that read the user's password hash before this call and
// starts its session after it is refused (see auth.Origin.CheckedAt).
//
// A family is found through the user's index, which Start and Rotate
// maintain; a family opened by a version without the index joins it at its
// first rotation, so until then RevokeUser does not reach it.
func (s *Sessions) RevokeUser(ctx context.Context, userID string) (int, error) {
	if userID == "" {
		return 0, errors.New("redis: RevokeUser needs a user id")
	}
	n, err := s.durable.run(ctx, s.rdb, revokeUserScript,
		[]string{s.indexKey(userID), s.endedKey(userID)}, s.familyPrefix(), endedTTL.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	return n, nil
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

// AccessRevoked reports whether the access token jti of family was revoked
// and has not expired yet, or its family has ended. Both are read by one
// EXISTS (which counts a key named twice twice): the jti mark counts 1 and
// the family 2, so exactly 2 means a live family and an unrevoked jti.
// Concurrent checks share round trips (see existsBatcher).
func (s *Sessions) AccessRevoked(ctx context.Context, jti, family string) (bool, error) {
	fkey := s.familyKey(family)
	n, err := s.revoked.exists(ctx, s.accessKey(jti), fkey, fkey)
	if err != nil {
		return false, fmt.Errorf("redis: %w", err)
	}
	return n != 2, nil
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
	case resultReused, resultOK:
		if len(res) == 3 {
			family, ok1 := res[1].(string)
			userID, ok2 := res[2].(string)
			if ok1 && ok2 {
				s := auth.Session{Family: family, UserID: userID}
				if code == resultReused {
					// The session it ended, for the audit log.
					return s, auth.ErrRefreshReused
				}
				return s, nil
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
