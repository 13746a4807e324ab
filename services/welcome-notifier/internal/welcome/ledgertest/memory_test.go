package ledgertest_test

import (
	"testing"

	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome/ledgertest"
)

func TestMemoryKeepsTheLedgerContract(t *testing.T) {
	t.Parallel()
	ledgertest.Run(t, func(*testing.T) welcome.Ledger { return ledgertest.NewMemory() })
}
