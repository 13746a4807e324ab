package postgres_test

import (
	"testing"

	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger/ledgertest"
	"github.com/ssokit/platform/services/loyalty-points/internal/postgres"
)

// TestLedgerContract holds Ledger to the contract the in-memory store of
// the use-case tests passes too.
func TestLedgerContract(t *testing.T) {
	db := testDB(t)
	ledgertest.RunStore(t, func(*testing.T) ledger.Store { return postgres.NewLedger(db) })
}
