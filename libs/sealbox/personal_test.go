package sealbox_test

import (
	"bytes"
	"errors"
	"testing"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
)

func TestPersonal(t *testing.T) {
	r, _ := ring(t, "k1")
	key, err := sealbox.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := r.WrapDataKey("u1", sealbox.DataKeyVersion, key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(wrapped.GetCiphertext(), key) {
		t.Fatal("the wrapped key carries the key in clear")
	}
	got, err := r.UnwrapDataKey("u1", sealbox.DataKeyVersion, wrapped)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("UnwrapDataKey = %x, %v; want the key", got, err)
	}
	if _, err := r.UnwrapDataKey("u2", sealbox.DataKeyVersion, wrapped); !errors.Is(err, sealbox.ErrUnsealable) {
		t.Fatalf("another user's unwrap: %v, want ErrUnsealable", err)
	}
	if _, err := r.UnwrapDataKey("u1", 2, wrapped); !errors.Is(err, sealbox.ErrUnsealable) {
		t.Fatalf("another version's unwrap: %v, want ErrUnsealable", err)
	}

	p := &eventsv1.PersonalData{Email: "ada@example.com", FullName: "Ada Lovelace"}
	s, err := sealbox.SealPersonal(key, sealbox.DataKeyVersion, "u1", "e1", p)
	if err != nil {
		t.Fatal(err)
	}
	if s.GetKeyVersion() != sealbox.DataKeyVersion {
		t.Fatalf("key version %d", s.GetKeyVersion())
	}
	if bytes.Contains(s.GetCiphertext(), []byte("ada@example.com")) || bytes.Contains(s.GetCiphertext(), []byte("Ada Lovelace")) {
		t.Fatal("the sealed personal data is readable")
	}
	opened, err := sealbox.OpenPersonal(key, "u1", "e1", s)
	if err != nil || opened.GetEmail() != "ada@example.com" || opened.GetFullName() != "Ada Lovelace" {
		t.Fatalf("OpenPersonal = %v, %v", opened, err)
	}
	other, err := sealbox.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func() error{
		"another key":   func() error { _, err := sealbox.OpenPersonal(other, "u1", "e1", s); return err },
		"another user":  func() error { _, err := sealbox.OpenPersonal(key, "u2", "e1", s); return err },
		"another event": func() error { _, err := sealbox.OpenPersonal(key, "u1", "e2", s); return err },
		"nothing":       func() error { _, err := sealbox.OpenPersonal(key, "u1", "e1", nil); return err },
		"a short key":   func() error { _, err := sealbox.OpenPersonal(key[:5], "u1", "e1", s); return err },
	} {
		if err := open(); !errors.Is(err, sealbox.ErrUnsealable) {
			t.Errorf("%s: %v, want ErrUnsealable", name, err)
		}
	}
}

// BenchmarkRegistrationSealing is the sealing a registration adds: a new
// data key, wrapped under the ring, and two events' personal data sealed.
func BenchmarkRegistrationSealing(b *testing.B) {
	line, err := sealbox.NewKeyLine("k1")
	if err != nil {
		b.Fatal(err)
	}
	r, err := sealbox.Parse([]byte(line))
	if err != nil {
		b.Fatal(err)
	}
	p := &eventsv1.PersonalData{Email: "ada@example.com", FullName: "Ada Lovelace"}
	for b.Loop() {
		key, err := sealbox.NewDataKey()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.WrapDataKey("u1", sealbox.DataKeyVersion, key); err != nil {
			b.Fatal(err)
		}
		for range 2 {
			if _, err := sealbox.SealPersonal(key, sealbox.DataKeyVersion, "u1", "e1", p); err != nil {
				b.Fatal(err)
			}
		}
	}
}
