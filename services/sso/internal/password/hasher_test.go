package password

import (
	"errors"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newTestHasher(t testing.TB, p Params) *Hasher {
	t.Helper()
	h, err := NewHasher(p)
	if err != nil {
		t.Fatalf("NewHasher(%+v): %v", p, err)
	}
	return h
}

func TestNewHasherDefaults(t *testing.T) {
	h := newTestHasher(t, Params{})
	got := h.Params()
	want := DefaultParams()
	if got != want {
		t.Fatalf("Params() = %+v, want %+v", got, want)
	}
	if got.Memory != 9216 || got.Time != 4 || got.Threads != 1 || got.SaltLen != 16 || got.KeyLen != 32 {
		t.Fatalf("defaults %+v are not OWASP's m=9216 t=4 p=1 with 16-byte salt and 32-byte key", got)
	}
	if got.MaxConcurrent < 2 {
		t.Fatalf("default MaxConcurrent = %d, want 2*GOMAXPROCS", got.MaxConcurrent)
	}
}

func TestNewHasherValidates(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		ok   bool
	}{
		{"defaults", Params{}, true},
		{"owasp 46 MiB t=1", Params{Memory: 47104, Time: 1}, true},
		{"owasp 7 MiB t=5", Params{Memory: 7168, Time: 5}, true},
		{"owasp 12 MiB t=3 p=2", Params{Memory: 12288, Time: 3, Threads: 2}, true},
		{"memory below 7 MiB", Params{Memory: 7167, Time: 10}, false},
		{"memory*time below floor", Params{Memory: 19456, Time: 1}, false},
		{"memory above 2 GiB", Params{Memory: 2*1024*1024 + 1}, false},
		{"time above 64", Params{Time: 65}, false},
		{"salt 15 bytes", Params{SaltLen: 15}, false},
		{"salt 65 bytes", Params{SaltLen: 65}, false},
		{"key 15 bytes", Params{KeyLen: 15}, false},
		{"key 129 bytes", Params{KeyLen: 129}, false},
		{"negative concurrency", Params{MaxConcurrent: -1}, false},
		{"concurrency 1", Params{MaxConcurrent: 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHasher(tt.p)
			if tt.ok {
				if err != nil || h == nil {
					t.Fatalf("NewHasher(%+v) = %v, %v; want a hasher", tt.p, h, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidParams) || h != nil {
				t.Fatalf("NewHasher(%+v) = %v, %v; want ErrInvalidParams", tt.p, h, err)
			}
		})
	}
}

// TestParamsValidateTakesNoDefaults checks that Validate judges the values
// as given: a zero cost is refused, not read as the default NewHasher
// would fill in.
func TestParamsValidateTakesNoDefaults(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatalf("DefaultParams().Validate() = %v", err)
	}
	for name, edit := range map[string]func(*Params){
		"zero memory":  func(p *Params) { p.Memory = 0 },
		"zero time":    func(p *Params) { p.Time = 0 },
		"zero threads": func(p *Params) { p.Threads = 0 },
		"zero salt":    func(p *Params) { p.SaltLen = 0 },
		"zero key":     func(p *Params) { p.KeyLen = 0 },
	} {
		p := DefaultParams()
		edit(&p)
		if err := p.Validate(); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidParams", name, err)
		}
	}
	p := DefaultParams()
	p.MaxConcurrent = 0 // GOMAXPROCS, not a cost
	if err := p.Validate(); err != nil {
		t.Errorf("zero MaxConcurrent: Validate() = %v, want nil", err)
	}
}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=9216,t=4,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashFormatAndRoundTrip(t *testing.T) {
	h := newTestHasher(t, Params{})
	const pw = "correct horse battery staple"
	encoded, err := h.Hash(pw)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if !phcPattern.MatchString(encoded) {
		t.Fatalf("Hash = %q, not a default-parameter argon2id PHC string", encoded)
	}

	tests := []struct {
		name string
		pw   string
		ok   bool
	}{
		{"same password", pw, true},
		{"wrong password", "correct horse battery stapler", false},
		{"case differs", "Correct horse battery staple", false},
		{"trailing space", pw + " ", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(tt.pw, encoded)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if ok != tt.ok || rehash {
				t.Fatalf("Verify(%q) = ok %v, rehash %v; want ok %v, rehash false", tt.pw, ok, rehash, tt.ok)
			}
		})
	}
}

// TestVerifyReferenceVectors checks hashes made by the argon2 reference
// implementation's command-line tool (phc-winner-argon2), so stored hashes
// stay readable by, and from, any other argon2 library. The hasher is set to
// the vectors' 19 MiB and 2 passes, so those need no rehash.
func TestVerifyReferenceVectors(t *testing.T) {
	h := newTestHasher(t, Params{Memory: 19456, Time: 2})
	tests := []struct {
		name    string
		pw      string
		encoded string
		rehash  bool
	}{
		{
			name:    "the hasher's own params",
			pw:      "correct horse battery staple",
			encoded: "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0",
		},
		{
			name:    "16 MiB",
			pw:      "correct horse battery staple",
			encoded: "$argon2id$v=19$m=16384,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Qfoprj9ajhdUr6/5hZz/+c1WYOqhEfzbgZK4UD8v88k",
			rehash:  true,
		},
		{
			name:    "two lanes, 24-byte key",
			pw:      "Tr0ub4dor&3",
			encoded: "$argon2id$v=19$m=12288,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$pWCJMtUrLHi63nLpYTtrwGBPWRFC5FSE",
			rehash:  true,
		},
		{
			name:    "non-ASCII, hashed as NFC by the tool",
			pw:      "p\u00e4ssw\u00f6rd long enough",
			encoded: "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$DNgbM9o+vZwVOEehkUP776xLxFhu6iWNaL7pfljy+Bk",
		},
		{
			name:    "non-ASCII typed decomposed",
			pw:      "pa\u0308sswo\u0308rd long enough",
			encoded: "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$DNgbM9o+vZwVOEehkUP776xLxFhu6iWNaL7pfljy+Bk",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(tt.pw, tt.encoded)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !ok || rehash != tt.rehash {
				t.Fatalf("Verify = ok %v, rehash %v; want ok true, rehash %v", ok, rehash, tt.rehash)
			}
			ok, _, err = h.Verify(tt.pw+"x", tt.encoded)
			if err != nil || ok {
				t.Fatalf("Verify(wrong) = ok %v, err %v; want false, nil", ok, err)
			}
		})
	}
}

func TestHashNormalizes(t *testing.T) {
	h := newTestHasher(t, Params{})
	tests := []struct {
		name, hashed, typed string
	}{
		{"composed vs decomposed accent", "caf\u00e9 au lait", "cafe\u0301 au lait"},
		{"full-width vs ASCII", "\uff50\uff41\uff53\uff53\uff11\uff12\uff13\uff14", "pass1234"},
		{"ligature vs letters", "\ufb01nancial planning", "financial planning"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded, err := h.Hash(tt.hashed)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			ok, _, err := h.Verify(tt.typed, encoded)
			if err != nil || !ok {
				t.Fatalf("Verify(%q) against Hash(%q) = %v, %v; want true", tt.typed, tt.hashed, ok, err)
			}
		})
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	h := newTestHasher(t, Params{})
	seen := map[string]bool{}
	salts := map[string]bool{}
	for range 4 {
		encoded, err := h.Hash("same password every time")
		if err != nil {
			t.Fatalf("Hash: %v", err)
		}
		p, err := parsePHC(encoded)
		if err != nil {
			t.Fatalf("parsePHC(Hash()): %v", err)
		}
		if seen[encoded] || salts[string(p.salt)] {
			t.Fatalf("Hash repeated a salt or hash: %q", encoded)
		}
		seen[encoded], salts[string(p.salt)] = true, true
	}
}

func TestVerifyRehash(t *testing.T) {
	current := newTestHasher(t, Params{})
	tests := []struct {
		name   string
		old    Params
		rehash bool
	}{
		{"same params", Params{}, false},
		{"same params, other concurrency", Params{MaxConcurrent: 1}, false},
		{"less memory, more passes", Params{Memory: 7168, Time: 5}, true},
		{"more memory, fewer passes", Params{Memory: 19456, Time: 2}, true},
		{"more memory", Params{Memory: 47104, Time: 1}, true},
		{"more passes", Params{Time: 5}, true},
		{"more lanes", Params{Threads: 2}, true},
		{"longer key", Params{KeyLen: 64}, true},
		{"longer salt", Params{SaltLen: 32}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := newTestHasher(t, tt.old)
			const pw = "an old but good password"
			encoded, err := old.Hash(pw)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			ok, rehash, err := current.Verify(pw, encoded)
			if err != nil || !ok || rehash != tt.rehash {
				t.Fatalf("Verify = ok %v, rehash %v, err %v; want ok true, rehash %v", ok, rehash, err, tt.rehash)
			}
			ok, rehash, err = current.Verify("not the password", encoded)
			if err != nil || ok || rehash {
				t.Fatalf("Verify(wrong) = ok %v, rehash %v, err %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := newTestHasher(t, Params{})
	const (
		salt = "MDEyMzQ1Njc4OWFiY2RlZg"
		key  = "gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0"
	)
	valid := "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key
	if ok, _, err := h.Verify("correct horse battery staple", valid); err != nil || !ok {
		t.Fatalf("the valid base case does not verify: %v, %v", ok, err)
	}
	tests := []struct {
		name, encoded string
	}{
		{"empty", ""},
		{"dollar only", "$"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"plain text", "correct horse battery staple"},
		{"no leading dollar", valid[1:]},
		{"trailing dollar", valid + "$"},
		{"extra field", "$argon2id$v=19$m=19456,t=2,p=1$keyid=1$" + salt + "$" + key},
		{"missing hash", "$argon2id$v=19$m=19456,t=2,p=1$" + salt},
		{"argon2i", "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"upper-case algorithm", "$ARGON2ID$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"version 16", "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key},
		{"no version", "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key + "$"},
		{"params reordered", "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key},
		{"param missing", "$argon2id$v=19$m=19456,t=2$" + salt + "$" + key},
		{"param extra", "$argon2id$v=19$m=19456,t=2,p=1,x=1$" + salt + "$" + key},
		{"param spaces", "$argon2id$v=19$m=19456, t=2, p=1$" + salt + "$" + key},
		{"memory zero", "$argon2id$v=19$m=0,t=2,p=1$" + salt + "$" + key},
		{"memory leading zero", "$argon2id$v=19$m=019456,t=2,p=1$" + salt + "$" + key},
		{"memory signed", "$argon2id$v=19$m=+19456,t=2,p=1$" + salt + "$" + key},
		{"memory negative", "$argon2id$v=19$m=-1,t=2,p=1$" + salt + "$" + key},
		{"memory hex", "$argon2id$v=19$m=0x4c00,t=2,p=1$" + salt + "$" + key},
		{"memory empty", "$argon2id$v=19$m=,t=2,p=1$" + salt + "$" + key},
		{"memory 4 TiB", "$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key},
		{"memory overflows uint64", "$argon2id$v=19$m=99999999999999999999999,t=2,p=1$" + salt + "$" + key},
		{"memory below 8 KiB per lane", "$argon2id$v=19$m=15,t=2,p=2$" + salt + "$" + key},
		{"time zero", "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key},
		{"time huge", "$argon2id$v=19$m=19456,t=100000,p=1$" + salt + "$" + key},
		{"lanes zero", "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key},
		{"lanes 256", "$argon2id$v=19$m=19456,t=2,p=256$" + salt + "$" + key},
		{"salt empty", "$argon2id$v=19$m=19456,t=2,p=1$$" + key},
		{"salt 4 bytes", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$" + key},
		{"salt padded", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key},
		{"salt url alphabet", "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA_-$" + key},
		{"salt with newline", "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4\nOWFiY2RlZg$" + key},
		{"salt stray bits", "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZh$" + key},
		{"salt impossible length", "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZ$" + key},
		{"hash empty", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$"},
		{"hash 8 bytes", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$c2FsdHNhbHQ"},
		{"hash not base64", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + strings.Repeat("*", 43)},
		{"hash padded", valid + "="},
		{"too long", valid + strings.Repeat("A", 1000)},
		{"NUL inside", "$argon2id$v=19\x00$m=19456,t=2,p=1$" + salt + "$" + key},
		{"invalid UTF-8", "$argon2id$v=19$m=19456,t=2,p=1$\xff\xfe$" + key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify("correct horse battery staple", tt.encoded)
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify(%q) err = %v, want ErrMalformedHash", tt.encoded, err)
			}
			if ok || rehash {
				t.Fatalf("Verify(%q) = ok %v, rehash %v; want false, false", tt.encoded, ok, rehash)
			}
			if len(tt.encoded) >= 16 && strings.Contains(err.Error(), tt.encoded) {
				t.Fatalf("error %q quotes the stored hash", err)
			}
		})
	}
}

// FuzzParsePHC checks that no input panics the parser and that whatever it
// accepts is canonical: it re-encodes to exactly the input.
func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0")
	f.Add("$argon2id$v=19$m=12288,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$pWCJMtUrLHi63nLpYTtrwGBPWRFC5FSE")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$$")
	f.Add("$argon2i$v=19$m=1,t=1,p=1$c2FsdA$c2FsdA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("parsePHC(%q) error %v does not wrap ErrMalformedHash", s, err)
			}
			return
		}
		if got := p.String(); got != s {
			t.Fatalf("parsePHC(%q) re-encodes as %q", s, got)
		}
	})
}

func TestHashRefusesOversizedInput(t *testing.T) {
	h := newTestHasher(t, Params{})
	_, err := h.Hash(strings.Repeat("x", MaxPasswordBytes+1))
	if !errors.Is(err, ErrTooLong) {
		t.Fatalf("Hash(%d bytes) err = %v, want ErrTooLong", MaxPasswordBytes+1, err)
	}

	longest := strings.Repeat("xy", MaxPasswordBytes/2)
	encoded, err := h.Hash(longest)
	if err != nil {
		t.Fatalf("Hash(%d bytes): %v", len(longest), err)
	}
	ok, _, err := h.Verify(longest, encoded)
	if err != nil || !ok {
		t.Fatalf("Verify(%d bytes) = %v, %v; want true", len(longest), ok, err)
	}
	ok, rehash, err := h.Verify(longest+"z", encoded)
	if err != nil || ok || rehash {
		t.Fatalf("Verify(%d bytes) = %v, %v, %v; want false, false, nil", len(longest)+1, ok, rehash, err)
	}
}

// TestMaxConcurrent replaces the KDF with a probe to check that no more
// than MaxConcurrent derivations run at once, across Hash and Verify.
func TestMaxConcurrent(t *testing.T) {
	const limit, callers = 3, 24
	h := newTestHasher(t, Params{MaxConcurrent: limit})
	valid := "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0"

	var inFlight, peak, calls atomic.Int32
	h.kdf = func(_, _ []byte, _, _ uint32, _ uint8, keyLen uint32) []byte {
		calls.Add(1)
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		// The sleep stays: it is the derivation's duration, which lets
		// callers overlap so the peak shows the limit.
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		return make([]byte, keyLen)
	}

	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			if i%2 == 0 {
				if _, err := h.Hash("pw"); err != nil {
					t.Errorf("Hash: %v", err)
				}
				return
			}
			if _, _, err := h.Verify("pw", valid); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
	wg.Wait()
	if calls.Load() != callers {
		t.Fatalf("KDF ran %d times, want %d", calls.Load(), callers)
	}
	if peak.Load() != limit {
		t.Fatalf("peak concurrent KDF runs = %d, want exactly the limit %d", peak.Load(), limit)
	}
}

func BenchmarkHash(b *testing.B) {
	h := newTestHasher(b, DefaultParams())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := newTestHasher(b, DefaultParams())
	encoded, err := h.Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify("correct horse battery staple", encoded); err != nil || !ok {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
}
