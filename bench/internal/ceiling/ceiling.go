// Package ceiling measures the physical limits of the machine for the
// work sso's operations cannot avoid: an argon2id hash per register and
// login, an Ed25519 signature per issued access token, an Ed25519
// verification per validated one. Each is run in this process, on
// GOMAXPROCS goroutines, for a fixed time, so the figure is what these
// cores can do when they do nothing else; an operation's throughput
// divided by its ceiling says how much of the machine the rest of the
// stack (network, gRPC, PostgreSQL, Redis, the load generator itself)
// costs.
package ceiling

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/argon2"
)

// Result is one measured ceiling.
//
// PerSecond is the rate the workers reached on the wall clock, which other
// work on the machine lowers. CPUPerOpMs is the CPU time one operation
// took, which other work barely changes, and Capacity is what the
// workers' cores could do if they did nothing else: Workers / CPU time per
// operation. On an idle machine the two rates agree; on a shared one
// Capacity is the physical limit and PerSecond what was left of it.
type Result struct {
	Name       string  `json:"name"`
	Params     string  `json:"params,omitempty"`
	Workers    int     `json:"workers"`
	Ops        int64   `json:"ops"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"per_second"`
	CPUPerOpMs float64 `json:"cpu_ms_per_op"`
	Capacity   float64 `json:"capacity_per_second"`
}

// Limit is the ceiling to hold throughput against: Capacity when the CPU
// time was measured, else PerSecond.
func (r Result) Limit() float64 {
	if r.Capacity > 0 {
		return r.Capacity
	}
	return r.PerSecond
}

// Argon2Params are the argon2id costs sso hashes with.
type Argon2Params struct {
	Memory  uint32 `json:"memory_kib"`
	Time    uint32 `json:"time"`
	Threads uint8  `json:"threads"`
	KeyLen  uint32 `json:"key_len"`
	SaltLen int    `json:"salt_len"`
}

// DefaultArgon2 are sso's defaults (OWASP's minimum): 19 MiB, 2 passes,
// 1 lane, a 32-byte key and a 16-byte salt.
func DefaultArgon2() Argon2Params {
	return Argon2Params{Memory: 19456, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
}

func (p Argon2Params) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d,k=%d", p.Memory, p.Time, p.Threads, p.KeyLen)
}

// ErrNotArgon2id means a string is not an argon2id PHC hash.
var ErrNotArgon2id = errors.New("not an argon2id PHC string")

// ParsePHC reads the parameters out of an argon2id PHC string as sso stores
// it ($argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>), so the ceiling is
// measured with the costs the running sso actually uses. Salt and key
// lengths come from their unpadded base64 lengths.
func ParsePHC(s string) (Argon2Params, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v=19" {
		return Argon2Params{}, ErrNotArgon2id
	}
	var p Argon2Params
	for kv := range strings.SplitSeq(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return Argon2Params{}, fmt.Errorf("%w: parameter %q", ErrNotArgon2id, kv)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Argon2Params{}, fmt.Errorf("%w: parameter %q", ErrNotArgon2id, kv)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return Argon2Params{}, fmt.Errorf("%w: parameter %q", ErrNotArgon2id, kv)
			}
			p.Threads = uint8(n)
		}
	}
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return Argon2Params{}, fmt.Errorf("%w: missing m, t or p in %q", ErrNotArgon2id, parts[3])
	}
	p.SaltLen = len(parts[4]) * 3 / 4 // unpadded base64
	p.KeyLen = uint32(len(parts[5]) * 3 / 4)
	return p, nil
}

// Argon2id measures argon2id hashes per second with p on workers
// goroutines for d.
func Argon2id(ctx context.Context, p Argon2Params, d time.Duration, workers int) Result {
	password := []byte("correct horse battery staple")
	r := parallel(ctx, d, workers, func() func() {
		salt := make([]byte, max(p.SaltLen, 16))
		_, _ = rand.Read(salt)
		return func() { argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen) }
	})
	r.Name, r.Params = "argon2id", p.String()
	return r
}

// signingInput is the size of a typical sso access token's signed part
// (base64url header and claims), about 330 bytes.
var signingInput = []byte(strings.Repeat("eyJhbGciOiJFZERTQSIsImtpZCI6IjIwMjYxMTI2In0", 8))

// Ed25519Sign measures signatures per second, as made for each issued
// access token.
func Ed25519Sign(ctx context.Context, d time.Duration, workers int) Result {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	r := parallel(ctx, d, workers, func() func() {
		return func() { ed25519.Sign(key, signingInput) }
	})
	r.Name = "ed25519-sign"
	return r
}

// Ed25519Verify measures verifications per second, as made for each
// validated access token.
func Ed25519Verify(ctx context.Context, d time.Duration, workers int) Result {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	sig := ed25519.Sign(key, signingInput)
	r := parallel(ctx, d, workers, func() func() {
		return func() {
			if !ed25519.Verify(pub, signingInput, sig) {
				panic("ceiling: ed25519 signature does not verify")
			}
		}
	})
	r.Name = "ed25519-verify"
	return r
}

// parallel runs the function each worker gets from newWork in a loop on
// workers goroutines until d has passed or ctx ends, and counts the calls
// that completed.
func parallel(ctx context.Context, d time.Duration, workers int, newWork func() func()) Result {
	workers = max(workers, 1)
	var ops atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	cpu0, cpuErr := processCPU()
	start := time.Now()
	for range workers {
		work := newWork()
		wg.Go(func() {
			for !stop.Load() {
				work()
				ops.Add(1)
			}
		})
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, cpuErr1 := processCPU()
	n := ops.Load()
	r := Result{Workers: workers, Ops: n, Seconds: elapsed.Seconds(), PerSecond: float64(n) / elapsed.Seconds()}
	if cpuErr == nil && cpuErr1 == nil && n > 0 && cpu1 > cpu0 {
		perOp := (cpu1 - cpu0).Seconds() / float64(n)
		r.CPUPerOpMs = perOp * 1000
		r.Capacity = float64(workers) / perOp
	}
	return r
}

// processCPU is this process's user + system CPU time so far. The
// benchmark runs nothing else while it measures a ceiling, so the
// difference over a measurement is the measured work's.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
