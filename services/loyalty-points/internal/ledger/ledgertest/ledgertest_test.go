package ledgertest_test

import (
	"testing"

	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger/ledgertest"
)

// TestStore holds the fake to the contract the PostgreSQL store passes.
func TestStore(t *testing.T) {
	t.Parallel()
	ledgertest.RunStore(t, func(*testing.T) ledger.Store { return ledgertest.NewStore() })
}
