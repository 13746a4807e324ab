package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// pemFiles lists the key files in dir with their permission bits.
func pemFiles(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	names, err := keyFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string]fs.FileMode, len(names))
	for _, name := range names {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = fi.Mode().Perm()
	}
	return files
}

func jwksKIDs(ks *KeySet) []string {
	var kids []string
	for _, k := range ks.JWKS().Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureDirCreatesOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	first, err := EnsureDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("dir mode = %v, want 0700", got)
	}
	want := map[string]fs.FileMode{"1970-01-01T000000Z.pem": 0o600}
	if got := pemFiles(t, dir); !mapsEqual(got, want) {
		t.Errorf("key files = %v, want %v", got, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("dir holds %d entries, want just the key (no temporary file left)", len(entries))
	}
	kid := first.ActiveKID(time.Now())
	if kid == "" {
		t.Fatal("no active key")
	}

	second, err := EnsureDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := second.ActiveKID(time.Now()); got != kid {
		t.Errorf("second EnsureDir signs with %q, want the existing key %q", got, kid)
	}
	if got := pemFiles(t, dir); !mapsEqual(got, want) {
		t.Errorf("after second EnsureDir key files = %v, want %v", got, want)
	}
}

// TestEnsureDirConcurrent stands for replicas starting together on one
// empty shared directory: they must all end up with the same key.
func TestEnsureDirConcurrent(t *testing.T) {
	dir := t.TempDir()
	const replicas = 16
	kids := make([]string, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			ks, err := EnsureDir(dir)
			errs[i] = err
			if err == nil {
				kids[i] = ks.ActiveKID(time.Now())
			}
		})
	}
	wg.Wait()
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if kids[i] != kids[0] {
			t.Errorf("replica %d signs with %q, replica 0 with %q", i, kids[i], kids[0])
		}
	}
	if got := len(pemFiles(t, dir)); got != 1 {
		t.Errorf("%d key files, want 1", got)
	}
}

func TestRotate(t *testing.T) {
	dir := t.TempDir()
	first, err := EnsureDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	oldKID := first.ActiveKID(time.Now())

	kid, err := Rotate(dir)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := ks.ActiveKID(time.Now()); got != kid {
		t.Errorf("after Rotate the active kid = %q, want the new %q", got, kid)
	}
	if got, want := jwksKIDs(ks), []string{kid, oldKID}; !slices.Equal(got, want) {
		t.Errorf("published kids = %v, want %v", got, want)
	}
	files := pemFiles(t, dir)
	if len(files) != 2 {
		t.Fatalf("key files = %v, want 2", files)
	}
	for name, mode := range files {
		if mode != 0o600 {
			t.Errorf("%s mode = %v, want 0600", name, mode)
		}
	}
}

func TestRotateAtMustBeNewest(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC)
	if _, err := RotateAt(dir, at); err != nil {
		t.Fatal(err)
	}
	for _, from := range []time.Time{at, at.Add(-time.Hour), at.Add(999 * time.Millisecond)} {
		if _, err := RotateAt(dir, from); err == nil {
			t.Errorf("RotateAt(%v) with a key at %v: no error", from, at)
		}
	}
	// Another zone is the same instant: the file name is UTC.
	if _, err := RotateAt(dir, at.Add(time.Second).In(time.FixedZone("CET", 3600))); err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-11-26T190000Z.pem", "2026-11-26T190001Z.pem"}
	if got := slices.Sorted(mapKeys(pemFiles(t, dir))); !slices.Equal(got, want) {
		t.Errorf("key files = %v, want %v", got, want)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	oldKID, err := RotateAt(dir, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	newKID, err := RotateAt(dir, time.Date(2026, 6, 1, 12, 30, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	// Files that are not keys are left alone.
	for _, name := range []string{"README", ".hidden.pem", "key.pem.bak"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("not a key"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ks, err := loadDir(dir, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if got := ks.ActiveKID(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)); got != newKID {
		t.Errorf("active kid = %q, want the newest %q", got, newKID)
	}
	if got, want := jwksKIDs(ks), []string{newKID, oldKID}; !slices.Equal(got, want) {
		t.Errorf("published kids = %v, want %v", got, want)
	}
}

// TestLoadDirKubernetesSecret reads the layout a Kubernetes secret volume
// has: keys are symlinks through ..data into a hidden timestamped directory.
func TestLoadDirKubernetesSecret(t *testing.T) {
	src := t.TempDir()
	kid, err := RotateAt(src, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	const name = "2026-01-01T000000Z.pem"
	mount := t.TempDir()
	version := filepath.Join(mount, "..2026_01_01_00_00_00.000000001")
	if err := os.Mkdir(version, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(src, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(version, name), data, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(version), filepath.Join(mount, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", name), filepath.Join(mount, name)); err != nil {
		t.Fatal(err)
	}
	ks, err := LoadDir(mount)
	if err != nil {
		t.Fatal(err)
	}
	if got := jwksKIDs(ks); !slices.Equal(got, []string{kid}) {
		t.Errorf("published kids = %v, want [%s]", got, kid)
	}
}

func TestLoadDirRefuses(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	edDER, err := x509.MarshalPKCS8PrivateKey(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	const name = "2026-01-01T000000Z.pem"
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
	}{
		{"no keys", func(t *testing.T, dir string) {}},
		{"name not an instant", func(t *testing.T, dir string) {
			writePEM(t, filepath.Join(dir, "signing.pem"), "PRIVATE KEY", edDER)
		}},
		{"name with colons", func(t *testing.T, dir string) {
			writePEM(t, filepath.Join(dir, "2026-01-01T00:00:00Z.pem"), "PRIVATE KEY", edDER)
		}},
		{"name not UTC", func(t *testing.T, dir string) {
			writePEM(t, filepath.Join(dir, "2026-01-01T000000+01.pem"), "PRIVATE KEY", edDER)
		}},
		{"not PEM", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("hello"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"wrong PEM type", func(t *testing.T, dir string) {
			writePEM(t, filepath.Join(dir, name), "EC PRIVATE KEY", edDER)
		}},
		{"not PKCS#8", func(t *testing.T, dir string) {
			writePEM(t, filepath.Join(dir, name), "PRIVATE KEY", []byte("garbage"))
		}},
		{"not Ed25519", func(t *testing.T, dir string) {
			writePEM(t, filepath.Join(dir, name), "PRIVATE KEY", ecDER)
		}},
		{"data after the key", func(t *testing.T, dir string) {
			data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER})
			data = append(data, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})...)
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"same key twice", func(t *testing.T, dir string) {
			writePEM(t, filepath.Join(dir, name), "PRIVATE KEY", edDER)
			writePEM(t, filepath.Join(dir, "2026-02-01T000000Z.pem"), "PRIVATE KEY", edDER)
		}},
		{"only future keys", func(t *testing.T, dir string) {
			if _, err := RotateAt(dir, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			ks, err := LoadDir(dir)
			if err == nil {
				t.Fatalf("LoadDir = %v kids, want an error", jwksKIDs(ks))
			}
		})
	}
}

func TestLoadDirMissing(t *testing.T) {
	_, err := LoadDir(filepath.Join(t.TempDir(), "absent"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadDir error = %v, want fs.ErrNotExist", err)
	}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func mapsEqual[K, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
