package redis_test

import (
	"testing"

	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/auth/authtest"
	"github.com/ssokit/platform/services/sso/internal/redis"
)

// The Redis adapters pass the contracts the in-memory fakes of the auth
// tests pass too; each subtest has its own key prefix.

func TestSessionsContract(t *testing.T) {
	t.Parallel()
	authtest.RunSessions(t, func(t *testing.T) auth.Sessions {
		rdb, p := testRedis(t)
		return redis.NewSessions(rdb, p)
	})
}

func TestThrottleContract(t *testing.T) {
	t.Parallel()
	authtest.RunThrottle(t, func(t *testing.T) auth.Throttle {
		rdb, p := testRedis(t)
		return redis.NewThrottle(rdb, p)
	})
}
