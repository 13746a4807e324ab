package password

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/crypto/argon2"
)

// MaxPasswordBytes is the longest input, in bytes before normalization,
// that Hasher hashes. It matches the largest Policy (1024 code points of up
// to 4 bytes each), so every password a Policy accepts can be hashed, while
// a request carrying megabytes is refused before any work is done.
const MaxPasswordBytes = 4 * maxPolicyLength

// Argon2id parameter bounds. The lower bounds are the weakest configuration
// OWASP's password storage cheat sheet still recommends (7 MiB with 5
// passes); the upper bounds only keep a garbled setting or stored hash from
// allocating gigabytes.
const (
	minMemoryKiB     = 7 * 1024
	minMemoryTimeKiB = 7 * 1024 * 5
	maxMemoryKiB     = 2 * 1024 * 1024
	maxTime          = 64
	minSaltLen       = 16
	maxSaltLen       = 64
	minKeyLen        = 16
	maxKeyLen        = 128
)

var (
	// ErrMalformedHash means a stored password hash is not an argon2id PHC
	// string this package can verify. It points at corrupt data, not at a
	// wrong password.
	ErrMalformedHash = errors.New("malformed password hash")
	// ErrInvalidParams means Params are outside the bounds NewHasher
	// accepts.
	ErrInvalidParams = errors.New("invalid argon2id parameters")
)

// Params are the argon2id costs of new hashes. NewHasher fills a zero field
// in from DefaultParams; Validate does not.
type Params struct {
	// Memory is the memory cost in KiB, at least 7168 (7 MiB).
	Memory uint32
	// Time is the number of passes over the memory; Memory*Time must be at
	// least 35840, OWASP's floor (e.g. 19 MiB and 2 passes, 7 MiB and 5).
	Time uint32
	// Threads is the number of lanes computed in parallel.
	Threads uint8
	// SaltLen is the length of the random salt in bytes (16 to 64).
	SaltLen uint32
	// KeyLen is the length of the derived key in bytes (16 to 128).
	KeyLen uint32
	// MaxConcurrent caps how many hashes are computed at once; more wait.
	// Each one holds Memory KiB, so the cap bounds the memory a flood of
	// logins can take to MaxConcurrent*Memory. Zero means GOMAXPROCS:
	// hashing is CPU-bound, so more at once adds memory and latency but no
	// throughput.
	MaxConcurrent int
}

// DefaultParams returns argon2id with 9 MiB, 4 passes, 1 lane, a 16-byte
// salt and a 32-byte key, and at most GOMAXPROCS concurrent hashes.
//
// OWASP lists five argon2id settings of equal defence, trading memory for
// passes: 19 MiB and 2, 12 and 3, 9 and 4, 7 and 5 (and 46 MiB and 1). The
// memory of the hashes in flight is most of sso's footprint, so it takes
// 9 MiB and 4 passes: measured on 2 cores against 19 MiB and 2, logins ran
// 25% faster (the smaller working set stays in cache) and peak RSS fell
// from 192 to 119 MB (see bench/README.md).
func DefaultParams() Params {
	return Params{
		Memory:        9 * 1024,
		Time:          4,
		Threads:       1,
		SaltLen:       16,
		KeyLen:        32,
		MaxConcurrent: runtime.GOMAXPROCS(0),
	}
}

func (p Params) withDefaults() Params {
	d := DefaultParams()
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	if p.MaxConcurrent == 0 {
		p.MaxConcurrent = d.MaxConcurrent
	}
	return p
}

// Validate reports whether p, exactly as given, is within the bounds
// NewHasher accepts: at least OWASP's floor for argon2id (Memory at least
// 7 MiB and Memory*Time at least 35840, so 7 MiB needs 5 passes and 19 MiB
// 2), at least one lane, and nothing implausibly large. Unlike NewHasher it
// does not fill zero fields in, so a zero cost is refused rather than
// taken for the default. Errors wrap ErrInvalidParams. This is the one
// place the floor is decided; the configuration checks settings with it.
func (p Params) Validate() error {
	switch {
	case p.Memory < minMemoryKiB || p.Memory > maxMemoryKiB:
		return fmt.Errorf("%w: memory %d KiB outside [%d, %d]", ErrInvalidParams, p.Memory, minMemoryKiB, maxMemoryKiB)
	case p.Time > maxTime:
		return fmt.Errorf("%w: time %d above %d", ErrInvalidParams, p.Time, maxTime)
	case uint64(p.Memory)*uint64(p.Time) < minMemoryTimeKiB:
		return fmt.Errorf("%w: memory*time %d below %d", ErrInvalidParams, uint64(p.Memory)*uint64(p.Time), minMemoryTimeKiB)
	case p.Threads < 1:
		return fmt.Errorf("%w: threads must be at least 1", ErrInvalidParams)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("%w: salt length %d outside [%d, %d]", ErrInvalidParams, p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("%w: key length %d outside [%d, %d]", ErrInvalidParams, p.KeyLen, minKeyLen, maxKeyLen)
	case p.MaxConcurrent < 0:
		return fmt.Errorf("%w: max concurrent %d is negative", ErrInvalidParams, p.MaxConcurrent)
	}
	return nil
}

// kdf derives a key; argon2.IDKey outside tests.
type kdf func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

// Hasher hashes passwords with argon2id and verifies them against stored
// PHC strings. It is safe for concurrent use.
type Hasher struct {
	params Params
	sem    chan struct{}
	kdf    kdf
	// metrics, when not nil, times every derivation.
	metrics *Metrics
}

// NewHasher returns a Hasher producing hashes with p (zero fields taking
// their defaults), or an error wrapping ErrInvalidParams when p is weaker
// than OWASP's floor or implausibly large.
func NewHasher(p Params, opts ...Option) (*Hasher, error) {
	p = p.withDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	h := &Hasher{params: p, sem: make(chan struct{}, p.MaxConcurrent), kdf: argon2.IDKey}
	for _, o := range opts {
		o(h)
	}
	return h, nil
}

// Params returns the parameters of new hashes, defaults filled in.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the argon2id PHC string of Normalize(pw) under the current
// parameters, with a fresh random salt. It refuses a pw longer than
// MaxPasswordBytes with an error wrapping ErrTooLong; it does not apply the
// rest of the Policy.
func (h *Hasher) Hash(pw string) (string, error) {
	if len(pw) > MaxPasswordBytes {
		return "", fmt.Errorf("hash password of %d bytes: %w", len(pw), ErrTooLong)
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	p := phc{memory: h.params.Memory, time: h.params.Time, threads: h.params.Threads, salt: salt}
	p.key = h.derive(opHash, pw, p, h.params.KeyLen)
	return p.String(), nil
}

// Verify reports whether pw matches encoded, comparing in constant time,
// and, when it does, whether encoded was made with parameters (memory,
// time, threads, key or salt length) other than the current ones, in which
// case the caller should store Hash(pw) in its place. A pw longer than
// MaxPasswordBytes matches nothing. An encoded string that is not a valid
// argon2id PHC string returns an error wrapping ErrMalformedHash; the error
// never quotes the hash.
func (h *Hasher) Verify(pw, encoded string) (ok, rehash bool, err error) {
	p, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	if len(pw) > MaxPasswordBytes {
		return false, false, nil
	}
	key := h.derive(opVerify, pw, p, uint32(len(p.key)))
	if subtle.ConstantTimeCompare(key, p.key) != 1 {
		return false, false, nil
	}
	cur := h.params
	rehash = p.memory != cur.Memory || p.time != cur.Time || p.threads != cur.Threads ||
		uint32(len(p.key)) != cur.KeyLen || uint32(len(p.salt)) != cur.SaltLen
	return true, rehash, nil
}

// derive runs the KDF on Normalize(pw) with p's costs and salt, waiting for
// a slot when MaxConcurrent hashes are already running; op labels its time.
func (h *Hasher) derive(op, pw string, p phc, keyLen uint32) []byte {
	if h.metrics != nil {
		start := time.Now()
		defer func() { h.metrics.seconds.WithLabelValues(op).Observe(time.Since(start).Seconds()) }()
	}
	h.sem <- struct{}{}
	defer func() { <-h.sem }()
	return h.kdf([]byte(Normalize(pw)), p.salt, p.time, p.memory, p.threads, keyLen)
}
