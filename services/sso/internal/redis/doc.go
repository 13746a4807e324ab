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
//	<p>rf:<family>    hash {user_id, current, started, used, address, agent}
//	    One live family (one login). current is the hash of the only token of
//	    the family that may still be used; started is the login's time and
//	    used the last rotation's, on the Redis server's clock (TIME), in Unix
//	    milliseconds; the absolute lifetime runs from started (a family
//	    written before this field existed gets it at its next rotation).
//	    address and agent are the client's, as the login saw them, for the
//	    user's list of sessions. TTL: extended on every rotation to the
//	    newest token's TTL (never shortened), so the family outlives each of
//	    its tokens; as no token outlives the absolute lifetime, neither does
//	    the family. Ending a family (logout, reuse, revocation, age) deletes
//	    it: its tokens then lead nowhere, and access tokens naming it (sid)
//	    are refused. (Versions before the index marked ended families
//	    revoked="1" instead; such a record is treated as ended.)
//	<p>uf:<user_id>   sorted set {family: expiry in Unix milliseconds}
//	    The user's families, for listing them and ending them all. Start
//	    adds, Rotate moves the expiry later, ending a family removes it, and
//	    Start and List drop entries whose expiry has passed. At most
//	    MaxFamiliesPerUser: a Start past it ends the families closest to
//	    expiring. TTL: that of its longest-lived family.
//	<p>ue:<user_id>   Unix milliseconds (Redis clock)
//	    When RevokeUser last ended the user's families. Start refuses a
//	    session whose credentials were checked (on sso's clock) at or
//	    before it, so a login racing a password reset leaves no session.
//	    TTL: 10 minutes, longer than any login takes.
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
