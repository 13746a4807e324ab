// Package redis keeps the sso token state and login throttling counters in
// Redis, shared by every sso replica. It implements auth.Sessions (Sessions)
// and auth.Throttle (Throttle).
//
// Every key starts with the prefix given to the constructor (for example
// "sso:"), written <p> below. Every key has a TTL, so nothing outlives the
// token or window it describes and no sweeper is needed.
//
// Refresh tokens are stored only as hashes; a refresh token is never written
// to Redis in the clear. The layout is:
//
//	<p>rt:<hash>      hash {family, user_id}
//	    One issued refresh token. TTL: the idle TTL given when it was issued,
//	    capped at what was left of the family's absolute lifetime. It is kept
//	    after the token is rotated away, so presenting it again is recognized
//	    as reuse rather than as an unknown token, and still ends the family
//	    at logout.
//	<p>rf:<family>    hash {user_id, current, revoked, started}
//	    One family (one login). current is the hash of the only token of the
//	    family that may still be used; revoked is "0" or "1"; started is the
//	    login's time on the Redis server's clock (TIME), in Unix milliseconds,
//	    from which the absolute lifetime runs (a family written before this
//	    field existed gets it at its next rotation). TTL: extended on every
//	    rotation to the newest token's TTL (never shortened), so the family
//	    outlives each of its tokens and a revoked family stays revoked for as
//	    long as any of its tokens could be presented; as no token outlives
//	    the absolute lifetime, neither does the family.
//	<p>jti:<jti>      "1"
//	    A revoked access token; it expires (PXAT) when the token does.
//	<p>throttle:<key> integer
//	    Attempts counted against key in its current fixed window; the TTL is
//	    what remains of the window. The keys the use cases count:
//	    login:account-address:<ip>/<email>, login:account:<email>,
//	    login:address:<ip> and register:address:<ip>.
//
// Rotation reads a token's family from its token record, so the Lua scripts
// touch keys they could not declare up front: the package needs a single
// Redis primary (standalone or Sentinel), not Redis Cluster. It also needs
// Redis 7.0 or later (PEXPIRE NX and GT).
//
// Failures of Redis itself (connection refused, timeouts, a closed client)
// are returned wrapped as "redis: ...", never as auth.ErrInvalidToken: a
// token must not look invalid only because its state could not be read, and
// callers report such errors as the dependency being unavailable.
package redis
