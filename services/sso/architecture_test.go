package sso_test

import (
	"testing"

	"github.com/ssokit/platform/libs/archtest"
)

// TestDependencyDirection holds sso to ports and adapters: auth (use cases
// and ports) and the domain packages depend on nothing that talks to the
// outside world, only the wiring imports an adapter, and sso imports no
// other service.
//
// outbox is in neither list: it owns the outbox record, which the postgres
// adapter writes beside each user, and relays it to Kafka.
func TestDependencyDirection(t *testing.T) {
	archtest.Check(t, ".", archtest.Layout{
		Domain:   []string{"internal/auth", "internal/user", "internal/token", "internal/password", "internal/audit"},
		Adapters: []string{"internal/postgres", "internal/redis", "internal/grpcapi", "internal/httpapi", "internal/auditfeed"},
		Wiring:   []string{"internal/service"},
	})
}
