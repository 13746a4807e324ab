package redis_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/testenv"
	ssoredis "github.com/ssokit/platform/services/sso/internal/redis"
)

func TestLoginCookies(t *testing.T) {
	rdb, prefix := testRedis(t)
	c := ssoredis.NewLoginCookies(rdb, prefix)
	ctx := testenv.Context(t, 10*time.Second)
	at := time.Unix(1_800_000_000, 0).UTC()

	if err := c.Put(ctx, "h1", "sid-1", "user-1", at, time.Minute); err != nil {
		t.Fatal(err)
	}
	sid, uid, got, found, err := c.Get(ctx, "h1")
	if err != nil || !found || sid != "sid-1" || uid != "user-1" || !got.Equal(at) {
		t.Fatalf("Get(h1) = %q, %q, %v, %v, %v", sid, uid, got, found, err)
	}
	if ttl := rdb.PTTL(ctx, prefix+"lc:h1").Val(); !within(ttl, 50*time.Second, time.Minute) {
		t.Errorf("TTL of the cookie's record = %v, want about a minute", ttl)
	}
	if _, _, _, found, err := c.Get(ctx, "unknown"); err != nil || found {
		t.Errorf("Get(unknown) found = %v, err = %v", found, err)
	}
	if err := c.Delete(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, found, err := c.Get(ctx, "h1"); err != nil || found {
		t.Errorf("Get after Delete: found = %v, err = %v", found, err)
	}
	if err := c.Put(ctx, "h2", "sid", "user", at, 0); err == nil {
		t.Error("Put with no lifetime succeeded")
	}

	k1, err := c.CSRFKey(ctx)
	if err != nil || len(k1) != 32 {
		t.Fatalf("CSRFKey = %x, %v", k1, err)
	}
	// Another replica gets the same key.
	k2, err := ssoredis.NewLoginCookies(rdb, prefix).CSRFKey(ctx)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("second CSRFKey = %x, %v; want %x", k2, err, k1)
	}
}
