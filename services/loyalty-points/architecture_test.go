package loyaltypoints_test

import (
	"testing"

	"github.com/ssokit/platform/libs/archtest"
)

// TestDependencyDirection holds loyalty-points to ports and adapters: the
// ledger (domain and use cases) depends on nothing that talks to the outside
// world, only the wiring imports an adapter, and loyalty-points imports no
// other service (it calls sso over gRPC).
func TestDependencyDirection(t *testing.T) {
	archtest.Check(t, ".", archtest.Layout{
		Domain:   []string{"internal/ledger"},
		Adapters: []string{"internal/postgres", "internal/grpcapi", "internal/events", "internal/sso"},
		Wiring:   []string{"internal/service"},
	})
}
