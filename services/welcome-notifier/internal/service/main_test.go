package service_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ssokit/platform/libs/sealbox"
)

// TestMain gives config.Load, which the tests start from, the one setting
// without a default; each test then points the notifier at a ring of its
// own (testRing).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "notifier-ring")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	path, err := writeRing(dir, "default")
	if err == nil {
		err = os.Setenv("NOTIFIER_SEALING_KEYS_FILE", path)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// ring is a sealing key ring in a file, as sso and the notifier share it.
type ring struct {
	*sealbox.Ring
	path string
}

// testRing writes a ring of one new key to a file of t's own.
func testRing(t *testing.T) ring {
	t.Helper()
	path, err := writeRing(t.TempDir(), "test")
	if err != nil {
		t.Fatal(err)
	}
	r, err := sealbox.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return ring{Ring: r, path: path}
}

func writeRing(dir, keyID string) (string, error) {
	line, err := sealbox.NewKeyLine(keyID)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "sealing-keys")
	return path, os.WriteFile(path, []byte(line+"\n"), 0o600)
}
