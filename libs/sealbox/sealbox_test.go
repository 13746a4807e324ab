package sealbox_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
)

// ring builds a ring of new keys named ids, newest first, and returns it
// with its text form.
func ring(t *testing.T, ids ...string) (*sealbox.Ring, string) {
	t.Helper()
	var lines []string
	for _, id := range ids {
		l, err := sealbox.NewKeyLine(id)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	text := "# test ring\n\n" + strings.Join(lines, "\n") + "\n"
	r, err := sealbox.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return r, text
}

func TestSealOpen(t *testing.T) {
	r, _ := ring(t, "k2", "k1")
	aad := sealbox.AAD("password-reset", "u1", "e1")
	s, err := r.Seal([]byte("the-token"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if s.GetKeyId() != "k2" || r.CurrentKeyID() != "k2" {
		t.Fatalf("sealed with %q, current %q; want the first key, k2", s.GetKeyId(), r.CurrentKeyID())
	}
	if strings.Contains(string(s.GetCiphertext()), "the-token") {
		t.Fatal("the ciphertext carries the secret in clear")
	}
	got, err := r.Open(s, aad)
	if err != nil || string(got) != "the-token" {
		t.Fatalf("Open = %q, %v; want the-token", got, err)
	}
	again, err := r.Seal([]byte("the-token"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.GetNonce()) == string(s.GetNonce()) {
		t.Fatal("two seals share a nonce")
	}
}

// TestRotation: a ring with a new key on top still opens what the old key
// sealed, and seals with the new one.
func TestRotation(t *testing.T) {
	_, oldText := ring(t, "2026-01")
	oldRing, err := sealbox.Parse([]byte(oldText))
	if err != nil {
		t.Fatal(err)
	}
	newLine, err := sealbox.NewKeyLine("2026-02")
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := sealbox.Parse([]byte(newLine + "\n" + oldText))
	if err != nil {
		t.Fatal(err)
	}
	aad := sealbox.AAD("email-verification", "u", "e")
	sealedOld, err := oldRing.Seal([]byte("in flight"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(sealedOld, aad); err != nil || string(got) != "in flight" {
		t.Fatalf("rotated ring opens an old secret = %q, %v", got, err)
	}
	sealedNew, err := rotated.Seal([]byte("new"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if sealedNew.GetKeyId() != "2026-02" {
		t.Fatalf("rotated ring seals with %q, want 2026-02", sealedNew.GetKeyId())
	}
	if _, err := oldRing.Open(sealedNew, aad); !errors.Is(err, sealbox.ErrUnsealable) {
		t.Fatalf("old ring opens a secret of a key it lacks: %v", err)
	}
}

func TestOpenRefuses(t *testing.T) {
	r, _ := ring(t, "k1")
	other, _ := ring(t, "k1") // same id, another key
	aad := sealbox.AAD("email-verification", "u1", "e1")
	s, err := r.Seal([]byte("secret"), aad)
	if err != nil {
		t.Fatal(err)
	}
	altered := proto.CloneOf(s)
	altered.Ciphertext[0] ^= 1
	unknownKey := proto.CloneOf(s)
	unknownKey.KeyId = "k9"
	shortNonce := proto.CloneOf(s)
	shortNonce.Nonce = shortNonce.Nonce[:4]
	for name, tc := range map[string]struct {
		ring *sealbox.Ring
		s    *eventsv1.SealedSecret
		aad  []byte
	}{
		"other purpose": {r, s, sealbox.AAD("password-reset", "u1", "e1")},
		"other user":    {r, s, sealbox.AAD("email-verification", "u2", "e1")},
		"other event":   {r, s, sealbox.AAD("email-verification", "u1", "e2")},
		"other ring":    {other, s, aad},
		"altered":       {r, altered, aad},
		"unknown key":   {r, unknownKey, aad},
		"short nonce":   {r, shortNonce, aad},
		"nil":           {r, nil, aad},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := tc.ring.Open(tc.s, tc.aad)
			if !errors.Is(err, sealbox.ErrUnsealable) {
				t.Fatalf("Open = %q, %v; want ErrUnsealable", got, err)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	good, err := sealbox.NewKeyLine("a")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"empty":        "",
		"comment only": "# nothing\n",
		"no key":       "a\n",
		"short key":    "a c2hvcnQ=\n",
		"not base64":   "a !!!!\n",
		"duplicate id": good + "\n" + good + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := sealbox.Parse([]byte(text)); err == nil {
				t.Fatal("Parse accepted it")
			}
		})
	}
	if _, err := sealbox.NewKeyLine("with space"); err == nil {
		t.Fatal("NewKeyLine accepted an id with a space")
	}
}

func TestLoadRefusesAFileOthersCanRead(t *testing.T) {
	_, text := ring(t, "k1")
	path := filepath.Join(t.TempDir(), "ring")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sealbox.Load(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Load of a 0644 file = %v; want a refusal naming chmod 600", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		t.Fatal(err)
	}
	if _, err := sealbox.Load(path); err == nil {
		t.Fatal("Load accepted a file its group can write")
	}
	for _, mode := range []os.FileMode{0o600, 0o440} { // 0440: a Kubernetes Secret under fsGroup
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		r, err := sealbox.Load(path)
		if err != nil || r.CurrentKeyID() != "k1" {
			t.Fatalf("Load of a %v file = %v, %v", mode, r, err)
		}
	}
}
