package token

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// keyFileLayout names a key file after the UTC instant from which it signs.
const keyFileLayout = "2006-01-02T150405Z"

// keyFileExt is the extension of key files; other files are ignored, so a
// Kubernetes secret mount (with its ..data links) or a temporary file does
// not count as a key.
const keyFileExt = ".pem"

// bootstrapFrom names the key [EnsureDir] creates in an empty directory. It
// is a fixed instant, not the current time, so replicas that start together
// on one empty directory race for the same file name and all end up with
// the one key that won; any later key supersedes it.
var bootstrapFrom = time.Unix(0, 0).UTC()

// LoadDir reads the signing keys in dir (see the package documentation for
// the layout) and returns them as a set. It fails if dir holds no key, if no
// key signs yet, or if any *.pem file is not a correctly named PKCS#8
// Ed25519 private key: a half-provisioned directory should stop the start,
// not produce tokens other replicas cannot verify.
func LoadDir(dir string) (*KeySet, error) {
	return loadDir(dir, time.Now())
}

func loadDir(dir string, now time.Time) (*KeySet, error) {
	names, err := keyFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no key files (*%s) in %s", keyFileExt, dir)
	}
	keys := make([]key, 0, len(names))
	for _, name := range names {
		from, err := keyFileTime(name)
		if err != nil {
			return nil, err
		}
		priv, err := readKeyFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		pub := priv.Public().(ed25519.PublicKey)
		keys = append(keys, key{kid: KeyID(pub), pub: pub, priv: priv, from: from})
	}
	slices.SortFunc(keys, func(a, b key) int { return a.from.Compare(b.from) })
	ks, err := newKeySet(keys)
	if err != nil {
		return nil, fmt.Errorf("key directory %s: %w", dir, err)
	}
	if _, ok := ks.signer(now); !ok {
		return nil, fmt.Errorf("key directory %s: no key signs before %s", dir, keys[0].from.Format(time.RFC3339))
	}
	return ks, nil
}

// EnsureDir loads the keys in dir, first creating dir (mode 0700) and a key
// (mode 0600) if there is none, so a local run or a test needs no setup.
// Replicas starting together on one empty directory agree on a single key.
// In production, mount the keys (the same secret on every replica) and use
// [LoadDir], which never writes.
func EnsureDir(dir string) (*KeySet, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	names, err := keyFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		if _, err := writeKey(dir, bootstrapFrom); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		// fs.ErrExist: another replica created the key first; use it.
	}
	return LoadDir(dir)
}

// Rotate adds a key to dir that signs from now on and returns its kid.
// Replicas pick it up when they next load the directory (at start); until
// all have, those that have sign tokens the others cannot verify, so with
// more than one replica prefer [RotateAt] with a later instant.
func Rotate(dir string) (string, error) {
	return RotateAt(dir, time.Now())
}

// RotateAt adds a key to dir that signs from the instant from (truncated to
// the second) and returns its kid. Until then the key is only published. It
// fails if from is not later than every key already in dir, since such a
// key would never sign.
func RotateAt(dir string, from time.Time) (string, error) {
	from = from.UTC().Truncate(time.Second)
	names, err := keyFiles(dir)
	if err != nil {
		return "", err
	}
	for _, name := range names {
		t, err := keyFileTime(name)
		if err != nil {
			return "", err
		}
		if !from.After(t) {
			return "", fmt.Errorf("new key would sign from %s, not after existing key %s", from.Format(keyFileLayout), name)
		}
	}
	return writeKey(dir, from)
}

// keyFiles lists the key file names in dir, sorted.
func keyFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read key directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, keyFileExt) && !strings.HasPrefix(name, ".") {
			names = append(names, name)
		}
	}
	return names, nil
}

// keyFileTime parses the instant a key file's name stands for.
func keyFileTime(name string) (time.Time, error) {
	stem := strings.TrimSuffix(name, keyFileExt)
	t, err := time.Parse(keyFileLayout, stem)
	if err != nil || t.Format(keyFileLayout) != stem {
		return time.Time{}, fmt.Errorf("key file %s: name is not a UTC instant like %s%s", name, keyFileLayout, keyFileExt)
	}
	return t, nil
}

// readKeyFile parses one PEM "PRIVATE KEY" block (PKCS#8) holding an
// Ed25519 key, and nothing else.
func readKeyFile(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("key file %s: no PEM PRIVATE KEY block", path)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("key file %s: data after the key", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key file %s: %T is not an Ed25519 key", path, parsed)
	}
	return priv, nil
}

// writeKey generates a key, stores it in dir under the name for from and
// returns its kid. The file appears whole or not at all (written aside, then
// linked into place), and an existing file is never replaced: that fails
// with an error wrapping fs.ErrExist.
func writeKey(dir string, from time.Time) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("encode key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".key-*.tmp") // CreateTemp uses mode 0600
	if err != nil {
		return "", fmt.Errorf("write key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return "", fmt.Errorf("write key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("write key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("write key: %w", err)
	}
	// os.Link, unlike os.Rename, refuses to replace an existing file.
	if err := os.Link(tmp.Name(), filepath.Join(dir, from.Format(keyFileLayout)+keyFileExt)); err != nil {
		return "", fmt.Errorf("write key: %w", err)
	}
	return KeyID(pub), nil
}
