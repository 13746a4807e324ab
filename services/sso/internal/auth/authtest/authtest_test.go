package authtest_test

import (
	"testing"

	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/auth/authtest"
)

// The fakes pass the same suites as the PostgreSQL and Redis adapters.

func TestUsers(t *testing.T) {
	t.Parallel()
	authtest.RunUsers(t, func(*testing.T) auth.Users { return authtest.NewUsers() })
}

func TestSessions(t *testing.T) {
	t.Parallel()
	authtest.RunSessions(t, func(*testing.T) auth.Sessions { return authtest.NewSessions() })
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	authtest.RunThrottle(t, func(*testing.T) auth.Throttle { return authtest.NewThrottle() })
}
