package postgres_test

import (
	"testing"

	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/auth/authtest"
	"github.com/ssokit/platform/services/sso/internal/postgres"
)

// TestUsersContract holds Users to the contract the in-memory fake of the
// auth tests passes too, as sso wires it: reading the replica, writing each
// user with its event.
func TestUsersContract(t *testing.T) {
	primary, replica := testDB(t)
	authtest.RunUsers(t, func(*testing.T) auth.Users {
		return postgres.NewUsers(primary, replica, recordingEvent(nil), withKeys)
	})
}
