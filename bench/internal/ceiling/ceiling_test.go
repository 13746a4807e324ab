package ceiling

import (
	"errors"
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	if got := (Result{PerSecond: 70, Capacity: 80}).Limit(); got != 80 {
		t.Errorf("Limit with a capacity = %v, want 80", got)
	}
	if got := (Result{PerSecond: 70}).Limit(); got != 70 {
		t.Errorf("Limit without a capacity = %v, want the wall-clock 70", got)
	}
}

func TestParsePHC(t *testing.T) {
	// A hash as sso stores it: 16-byte salt, 32-byte key, unpadded base64.
	const sso = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE"
	got, err := ParsePHC(sso)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Argon2Params{Memory: 19456, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}); got != want {
		t.Fatalf("ParsePHC = %+v, want %+v", got, want)
	}
	if got.String() != "m=19456,t=2,p=1,k=32" {
		t.Fatalf("String() = %q", got.String())
	}

	for _, bad := range []string{
		"",
		"$2a$10$abcdefghijklmnopqrstuv", // bcrypt
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$a2V5", // argon2i
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=19456,t=2$c2FsdA$a2V5",       // no p
		"$argon2id$v=19$m=x,t=2,p=1$c2FsdA$a2V5",       // not a number
		"$argon2id$v=19$m=19456,t=2,p=300$c2FsdA$a2V5", // lanes overflow
	} {
		if _, err := ParsePHC(bad); !errors.Is(err, ErrNotArgon2id) {
			t.Errorf("ParsePHC(%q) = %v, want ErrNotArgon2id", bad, err)
		}
	}
}

// TestCeilingsCount runs each ceiling briefly with cheap argon2 costs and
// checks the counting: every figure positive and consistent.
func TestCeilingsCount(t *testing.T) {
	cheap := Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	for _, r := range []Result{
		Argon2id(t.Context(), cheap, 50*time.Millisecond, 2),
		Ed25519Sign(t.Context(), 50*time.Millisecond, 2),
		Ed25519Verify(t.Context(), 50*time.Millisecond, 2),
	} {
		if r.Name == "" || r.Workers != 2 || r.Ops <= 0 || r.Seconds < 0.05 || r.PerSecond <= 0 {
			t.Errorf("%s: %+v", r.Name, r)
		}
		if got := float64(r.Ops) / r.Seconds; got != r.PerSecond {
			t.Errorf("%s: PerSecond %v != Ops/Seconds %v", r.Name, r.PerSecond, got)
		}
		// The capacity (what two whole cores could do) is at least about the
		// rate reached, and more when other work took part of the cores.
		if r.CPUPerOpMs <= 0 || r.Capacity < r.PerSecond/2 || r.Capacity > r.PerSecond*50 || r.Limit() != r.Capacity {
			t.Errorf("%s: CPU %v ms/op, capacity %v/s against %v/s on the wall clock", r.Name, r.CPUPerOpMs, r.Capacity, r.PerSecond)
		}
	}
}
