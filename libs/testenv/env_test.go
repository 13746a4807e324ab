package testenv_test

import (
	"os"
	"testing"

	"github.com/ssokit/platform/libs/config"
	"github.com/ssokit/platform/libs/testenv"
)

func TestClearEnvUnsetsPrefixedVariablesAndRestoresThem(t *testing.T) {
	vars := map[string]string{
		"TESTENV_A_ONE": "1",
		"TESTENV_B_TWO": "2",
		"TESTENV_KEEP":  "kept",
		config.FileVar:  "/tmp/some.yaml",
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}

	t.Run("cleared", func(t *testing.T) {
		testenv.ClearEnv(t, "TESTENV_A_", "TESTENV_B_")
		for _, k := range []string{"TESTENV_A_ONE", "TESTENV_B_TWO", config.FileVar} {
			if v, ok := os.LookupEnv(k); ok {
				t.Errorf("%s = %q during the test, want unset", k, v)
			}
		}
		if got := os.Getenv("TESTENV_KEEP"); got != "kept" {
			t.Errorf("TESTENV_KEEP = %q, want kept: it has none of the prefixes", got)
		}
	})

	for k, want := range vars {
		if got, ok := os.LookupEnv(k); !ok || got != want {
			t.Errorf("%s after the test = %q (set %v), want %q restored", k, got, ok, want)
		}
	}
}
