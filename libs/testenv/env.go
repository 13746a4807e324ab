package testenv

import (
	"os"
	"strings"
	"testing"

	"github.com/ssokit/platform/libs/config"
)

// ClearEnv unsets, for the duration of t, every environment variable whose
// name starts with one of prefixes (such as "SSO_"), and config.FileVar, so
// the developer's environment cannot change what a config test sees. They
// are restored when t ends. Like t.Setenv, it cannot be used in parallel
// tests.
func ClearEnv(t *testing.T, prefixes ...string) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == config.FileVar || hasAnyPrefix(k, prefixes) {
			t.Setenv(k, "") // records the value to restore after t
			os.Unsetenv(k)
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
