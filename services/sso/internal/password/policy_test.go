package password

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// cycle returns n code points taken in turn from alphabet, a password that
// is neither common nor one repeated character.
func cycle(n int, alphabet string) string {
	rs := []rune(alphabet)
	var b strings.Builder
	for i := range n {
		b.WriteRune(rs[i%len(rs)])
	}
	return b.String()
}

const mixed = "kq7m2vx9rTj4"

func TestPolicyCheck(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		pw     string
		email  string
		want   error // nil, or the sentinel
		reason string
	}{
		{name: "empty", pw: "", want: ErrTooShort, reason: "password must be at least 8 characters"},
		{name: "7 characters", pw: cycle(7, mixed), want: ErrTooShort, reason: "password must be at least 8 characters"},
		{name: "8 characters", pw: cycle(8, mixed)},
		{name: "256 characters", pw: cycle(256, mixed)},
		{name: "257 characters", pw: cycle(257, mixed), want: ErrTooLong, reason: "password must be at most 256 characters"},
		{name: "spaces count and are kept", pw: "a b c d "},
		{name: "passphrase", pw: "correct horse battery staple"},
		{name: "no composition rules: lowercase only", pw: "glimmering otter"},

		{name: "8 two-byte characters", pw: cycle(8, "éüßøåçñ")},
		{name: "7 decomposed accents count as 7", pw: strings.Repeat("e\u0301a", 3) + "e\u0301", want: ErrTooShort},
		{name: "8 decomposed accents count as 8", pw: strings.Repeat("e\u0301a", 4)},
		{name: "256 emoji (1024 bytes)", pw: cycle(256, "😀😎🚀🌍🎉")},
		{name: "257 emoji", pw: cycle(257, "😀😎🚀🌍🎉"), want: ErrTooLong},
		// The limits hold as sent too, as the API document states them:
		// normalization must not stretch 6 code points into 8, nor merge
		// 257 into 256.
		{name: "ligature expanding to 8 is 6 as sent", pw: "\ufb03" + cycle(5, mixed), want: ErrTooShort},
		{name: "ligature among 8", pw: "\ufb03" + cycle(7, mixed)},
		{name: "257 as sent composing to 256", pw: "e\u0301" + cycle(255, mixed), want: ErrTooLong},
		{name: "invalid UTF-8", pw: "abcdefg\xff", want: ErrInvalidUTF8, reason: "password must be valid UTF-8 text"},
		{name: "lone surrogate encoding", pw: "abcdefgh\xed\xa0\x80", want: ErrInvalidUTF8},

		{name: "common", pw: "password", want: ErrTooCommon, reason: "password is too common"},
		{name: "common, other case", pw: "PassWord123", want: ErrTooCommon},
		{name: "common digits", pw: "12345678", want: ErrTooCommon},
		{name: "common keyboard walk", pw: "1qaz2wsx", want: ErrTooCommon},
		{name: "common phrase", pw: "iloveyou", want: ErrTooCommon},
		{name: "common after NFKC (full-width)", pw: "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44", want: ErrTooCommon},
		{name: "one character repeated", pw: "zzzzzzzzzz", want: ErrTooCommon},
		{name: "one non-ASCII character repeated", pw: strings.Repeat("ж", 12), want: ErrTooCommon},
		{name: "uncommon variant", pw: "password-for-ssokit-7"},

		{name: "equals e-mail", pw: "ada.lovelace@example.com", email: "ada.lovelace@example.com", want: ErrContainsEmail, reason: "password must not be your e-mail address"},
		{name: "equals e-mail, other case", pw: "Ada.Lovelace@Example.com", email: "ada.lovelace@example.com", want: ErrContainsEmail},
		{name: "equals e-mail given unnormalized", pw: "ada.lovelace@example.com", email: "  ADA.Lovelace@EXAMPLE.COM ", want: ErrContainsEmail},
		{name: "equals local part", pw: "ada.lovelace", email: "ada.lovelace@example.com", want: ErrContainsEmail},
		{name: "contains local part is fine", pw: "ada.lovelace-rocks", email: "ada.lovelace@example.com"},
		{name: "equals domain is fine", pw: "example.com", email: "ada.lovelace@example.com"},
		{name: "no e-mail given", pw: "ada.lovelace", email: ""},

		{name: "stricter minimum", policy: Policy{MinLength: 12}, pw: cycle(11, mixed), want: ErrTooShort, reason: "password must be at least 12 characters"},
		{name: "stricter minimum met", policy: Policy{MinLength: 12}, pw: cycle(12, mixed)},
		{name: "maximum 64", policy: Policy{MaxLength: 64}, pw: cycle(65, mixed), want: ErrTooLong, reason: "password must be at most 64 characters"},
		{name: "maximum 1024", policy: Policy{MaxLength: 1024}, pw: cycle(1024, "😀😎🚀🌍🎉")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.pw, tt.email)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tt.pw, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check(%q) = %v, want %v", tt.pw, err, tt.want)
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("Check(%q) = %T, want *PolicyError", tt.pw, err)
			}
			if pe.Error() != pe.Reason {
				t.Fatalf("Error() = %q, want the Reason %q", pe.Error(), pe.Reason)
			}
			if tt.reason != "" && pe.Reason != tt.reason {
				t.Fatalf("Reason = %q, want %q", pe.Reason, tt.reason)
			}
		})
	}
}

func TestPolicyCheckLength(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		want error
	}{
		{"short is fine at login", "short", nil},
		{"common is fine at login", "password", nil},
		{"256 characters", cycle(256, mixed), nil},
		{"257 characters", cycle(257, mixed), ErrTooLong},
		{"1 MB", strings.Repeat("a", 1<<20), ErrTooLong},
		{"invalid UTF-8", "abc\xc3", ErrInvalidUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Policy{}.CheckLength(tt.pw)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckLength = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestPolicyRefusesHugeInputCheaply checks that a megabyte password is
// refused on its byte length, before it is validated or normalized.
func TestPolicyRefusesHugeInputCheaply(t *testing.T) {
	// Not valid UTF-8: if the text were examined before the length, the
	// answer would be ErrInvalidUTF8.
	garbage := strings.Repeat("\xff", 1<<20)
	if err := (Policy{}).Check(garbage, ""); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Check(1 MB of 0xff) = %v, want ErrTooLong", err)
	}

	// Decomposed accents, which NFKC would have to rewrite into a fresh
	// megabyte-sized string: refusing 100 of them must allocate almost
	// nothing.
	huge := strings.Repeat("e\u0301", 1<<19)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		if err := (Policy{}).Check(huge, "a@b.io"); !errors.Is(err, ErrTooLong) {
			t.Fatalf("Check(1 MB) = %v, want ErrTooLong", err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("100 refusals of a 1 MB password allocated %d bytes; the input was read", n)
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		ok   bool
	}{
		{"zero value", Policy{}, true},
		{"min 15, max 64", Policy{MinLength: 15, MaxLength: 64}, true},
		{"max 1024", Policy{MaxLength: 1024}, true},
		{"min below 8", Policy{MinLength: 6}, false},
		{"negative min", Policy{MinLength: -1}, false},
		{"max below 64", Policy{MaxLength: 63}, false},
		{"max above 1024", Policy{MaxLength: 1025}, false},
		{"min above max", Policy{MinLength: 100, MaxLength: 64}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if tt.ok {
				return
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("Validate() = %v, want ErrInvalidPolicy", err)
			}
			if cerr := tt.p.Check("correct horse battery staple", ""); !errors.Is(cerr, ErrInvalidPolicy) {
				t.Fatalf("Check under an invalid policy = %v, want ErrInvalidPolicy", cerr)
			}
			if cerr := tt.p.CheckLength("correct horse battery staple"); !errors.Is(cerr, ErrInvalidPolicy) {
				t.Fatalf("CheckLength under an invalid policy = %v, want ErrInvalidPolicy", cerr)
			}
		})
	}
}

// TestPolicyAndHasherAgree checks that the longest password the largest
// Policy accepts can be hashed.
func TestPolicyAndHasherAgree(t *testing.T) {
	pw := cycle(maxPolicyLength, "😀😎🚀🌍🎉")
	if err := (Policy{MaxLength: maxPolicyLength}).Check(pw, ""); err != nil {
		t.Fatalf("Check(%d emoji): %v", maxPolicyLength, err)
	}
	if len(pw) != MaxPasswordBytes {
		t.Fatalf("len = %d, want MaxPasswordBytes %d", len(pw), MaxPasswordBytes)
	}
	h := newTestHasher(t, Params{})
	if _, err := h.Hash(pw); err != nil {
		t.Fatalf("Hash of the longest acceptable password: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain ascii", "plain ascii"},
		{"cafe\u0301", "caf\u00e9"},
		{"\uff21\uff22\uff23\uff11", "ABC1"},
		{"\ufb01", "fi"},
		{"\u2460\u2461", "12"},
		{"\u00a0nbsp", " nbsp"},
		{"bad\xff", "bad\xff"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBlocklistFile(t *testing.T) {
	set := commonSet()
	if len(set) < 1000 {
		t.Fatalf("blocklist has %d entries, want at least 1000", len(set))
	}
	lines := strings.Split(strings.TrimSuffix(commonTxt, "\n"), "\n")
	if len(lines) != len(set) {
		t.Fatalf("common.txt has %d lines but %d distinct entries: duplicates or blank lines", len(lines), len(set))
	}
	for i, l := range lines {
		switch {
		case l != strings.ToLower(l):
			t.Errorf("line %d %q is not lowercase", i+1, l)
		case l != strings.TrimSpace(l) || l == "":
			t.Errorf("line %d %q has surrounding space or is empty", i+1, l)
		case !utf8.ValidString(l) || Normalize(l) != l:
			t.Errorf("line %d %q is not NFKC UTF-8, so it could never match", i+1, l)
		case utf8.RuneCountInString(l) < DefaultMinLength:
			t.Errorf("line %d %q is shorter than %d and can never match", i+1, l, DefaultMinLength)
		}
	}
	for _, pw := range []string{"password", "12345678", "123456789", "qwertyuiop", "iloveyou", "sunshine", "princess", "football", "trustno1", "1q2w3e4r", "p@ssw0rd", "welcome1", "summer2024"} {
		if _, ok := set[pw]; !ok {
			t.Errorf("blocklist lacks %q", pw)
		}
	}
}

func BenchmarkPolicyCheck(b *testing.B) {
	p := Policy{}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Check("correct horse battery staple", "ada@example.com"); err != nil {
			b.Fatal(err)
		}
	}
}
