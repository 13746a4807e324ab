package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssokit/platform/services/sso/internal/auth"
)

var _ auth.Throttle = (*Throttle)(nil)

// Throttle keeps the attempt counters of auth quotas in Redis, shared by
// every sso replica: one integer per key, whose TTL is the rest of its
// fixed window.
//
// Checking a counter and counting the attempt are one Lua script, one round
// trip: a check followed by a separate increment would let every attempt
// arriving between the two pass, which is how a burst of concurrent guesses
// used to get all of them hashed. The keys of one call live on one server
// (sso uses a single Redis or a Sentinel-managed master, not Redis Cluster,
// where they could hash to different slots).
type Throttle struct {
	rdb     goredis.UniversalClient
	prefix  string
	durable *replication
}

// NewThrottle returns a Throttle storing its counters under prefix in rdb.
// With WaitForReplica, Reserve returns only once a replica has the count,
// so a failover cannot hand an attacker back the attempts it already
// made; Release does not wait, as losing a refund only errs on the strict
// side.
func NewThrottle(rdb goredis.UniversalClient, prefix string, opts ...Option) *Throttle {
	return &Throttle{rdb: rdb, prefix: prefix + "throttle:", durable: newReplication(opts)}
}

// reserveScript refuses when any counter is at its limit and otherwise
// increments them all.
//
// KEYS[i] counter i; ARGV[2i-1] its limit, ARGV[2i] its window in
// milliseconds. Reply: {0, 0} when counted, else {i, wait in ms} for the
// refusing counter with the longest wait.
//
// PEXPIRE NX gives a counter its window only when it has none, so a
// counter that Release brought back to zero keeps the window it had; and a
// counter found at its limit without a TTL (never written so, but a key
// must not block forever) gets a full window.
var reserveScript = goredis.NewScript(`
local refused, wait = 0, 0
for i, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n >= tonumber(ARGV[2*i-1]) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
      ttl = tonumber(ARGV[2*i])
      redis.call('PEXPIRE', key, ttl)
    end
    if ttl > wait then refused, wait = i, ttl end
  end
end
if refused > 0 then return {refused, wait} end
for i, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('PEXPIRE', key, ARGV[2*i], 'NX')
end
return {0, 0}
`)

// Reserve counts one attempt against every quota, or none when one of
// them is used up; see auth.Throttle.
func (t *Throttle) Reserve(ctx context.Context, qs ...auth.Quota) (auth.Reservation, error) {
	if len(qs) == 0 {
		return auth.Reservation{Refused: -1}, nil
	}
	keys := make([]string, len(qs))
	args := make([]any, 0, 2*len(qs))
	for i, q := range qs {
		if q.Limit <= 0 || q.Window <= 0 {
			return auth.Reservation{}, fmt.Errorf("redis: quota %q needs a positive limit and window, got %d and %s", q.Key, q.Limit, q.Window)
		}
		keys[i] = t.prefix + q.Key
		args = append(args, q.Limit, ceilMillis(q.Window).Milliseconds())
	}
	res, err := t.durable.run(ctx, t.rdb, reserveScript, keys, args...).Int64Slice()
	if err != nil {
		return auth.Reservation{}, fmt.Errorf("redis: %w", err)
	}
	if len(res) != 2 || res[0] < 0 || res[0] > int64(len(qs)) {
		return auth.Reservation{}, fmt.Errorf("redis: unexpected reserve reply %v", res)
	}
	if res[0] == 0 {
		return auth.Reservation{Refused: -1}, nil
	}
	return auth.Reservation{Refused: int(res[0]) - 1, RetryAfter: time.Duration(res[1]) * time.Millisecond}, nil
}

// releaseScript gives back one attempt of each of the first ARGV[1] keys,
// if they have any, and deletes the others.
var releaseScript = goredis.NewScript(`
local refunds = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  if i <= refunds then
    if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
  else
    redis.call('DEL', key)
  end
end
return 0
`)

// Release takes back counted attempts; see auth.Throttle. A plain DECR
// would be two mistakes in one: on a counter whose window has ended it
// would create a key at -1 without a TTL, a credit of one attempt that
// never expires.
func (t *Throttle) Release(ctx context.Context, refund, forget []string) error {
	if len(refund)+len(forget) == 0 {
		return nil
	}
	keys := make([]string, 0, len(refund)+len(forget))
	for _, k := range refund {
		keys = append(keys, t.prefix+k)
	}
	for _, k := range forget {
		keys = append(keys, t.prefix+k)
	}
	if err := releaseScript.Run(ctx, t.rdb, keys, strconv.Itoa(len(refund))).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}
