package welcomenotifier_test

import (
	"testing"

	"github.com/ssokit/platform/libs/archtest"
)

// TestDependencyDirection holds welcome-notifier to ports and adapters: the
// welcome use case and the mail messages it composes depend on nothing that
// talks to the outside world (SMTP lives in smtp, Kafka in events), only the
// wiring imports an adapter, and the notifier imports no other service.
func TestDependencyDirection(t *testing.T) {
	archtest.Check(t, ".", archtest.Layout{
		Domain:   []string{"internal/welcome", "internal/mail"},
		Adapters: []string{"internal/postgres", "internal/smtp", "internal/events"},
		Wiring:   []string{"internal/service"},
	})
}
