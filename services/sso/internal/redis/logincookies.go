package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// LoginCookies keeps what the hosted login's session cookies stand for: a
// cookie value's hash maps to the sso session it signed in to, expiring
// with that session. Only the hash is stored, so a copy of Redis signs
// nobody in. It also keeps the key the hosted pages sign their CSRF
// tokens with, one for every sso replica.
type LoginCookies struct {
	rdb    goredis.UniversalClient
	prefix string
}

// NewLoginCookies returns LoginCookies storing its keys under prefix in
// rdb. It does not connect: the first operation does.
func NewLoginCookies(rdb goredis.UniversalClient, prefix string) *LoginCookies {
	return &LoginCookies{rdb: rdb, prefix: prefix}
}

func (c *LoginCookies) key(hash string) string { return c.prefix + "lc:" + hash }

// Put records that the cookie hashing to hash signed in user userID to
// session sid at authTime, for ttl.
func (c *LoginCookies) Put(ctx context.Context, hash, sid, userID string, authTime time.Time, ttl time.Duration) error {
	if hash == "" || sid == "" || userID == "" || ttl <= 0 {
		return errors.New("redis: a login cookie needs a hash, a session, a user and a lifetime")
	}
	_, err := c.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HSet(ctx, c.key(hash), "sid", sid, "user_id", userID, "auth_time", authTime.Unix())
		p.PExpire(ctx, c.key(hash), ceilMillis(ttl))
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Get returns what the cookie hashing to hash stands for; found is false
// for a cookie unknown or expired.
func (c *LoginCookies) Get(ctx context.Context, hash string) (sid, userID string, authTime time.Time, found bool, err error) {
	vals, err := c.rdb.HMGet(ctx, c.key(hash), "sid", "user_id", "auth_time").Result()
	if err != nil {
		return "", "", time.Time{}, false, fmt.Errorf("redis: %w", err)
	}
	sid, _ = vals[0].(string)
	userID, _ = vals[1].(string)
	at, _ := vals[2].(string)
	secs, perr := strconv.ParseInt(at, 10, 64)
	if sid == "" || userID == "" || perr != nil {
		return "", "", time.Time{}, false, nil
	}
	return sid, userID, time.Unix(secs, 0).UTC(), true, nil
}

// Delete forgets the cookie hashing to hash; an unknown one is no error.
func (c *LoginCookies) Delete(ctx context.Context, hash string) error {
	if err := c.rdb.Del(ctx, c.key(hash)).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// csrfKeyBytes is the length of the CSRF key: an HMAC-SHA256 key.
const csrfKeyBytes = 32

// CSRFKey returns the key the hosted pages sign CSRF tokens with, making it
// on first use. Replicas racing to make it agree on the first one stored,
// so a form served by one is accepted by any other.
func (c *LoginCookies) CSRFKey(ctx context.Context) ([]byte, error) {
	key := c.prefix + "login:csrf-key"
	fresh := make([]byte, csrfKeyBytes)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if err := c.rdb.SetNX(ctx, key, fresh, 0).Err(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	got, err := c.rdb.Get(ctx, key).Bytes()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if len(got) != csrfKeyBytes {
		return nil, fmt.Errorf("redis: csrf key of %d bytes, want %d", len(got), csrfKeyBytes)
	}
	return got, nil
}
