package user

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	label63 := strings.Repeat("d", 63)
	longest := strings.Repeat("l", 64) + "@" + label63 + "." + label63 + "." + strings.Repeat("e", 58) + ".io"
	if len(longest) != 254 {
		t.Fatalf("test setup: longest address has %d characters, want 254", len(longest))
	}

	tests := []struct {
		name   string
		in     string
		want   string // normalized address; empty means refused
		reason string // expected Reason when refused; empty skips the check
	}{
		// Accepted.
		{name: "plain", in: "ada@example.com", want: "ada@example.com"},
		{name: "lowercased", in: "A@Example.COM", want: "a@example.com"},
		{name: "mixed case local part", in: "Ada.Lovelace@Example.org", want: "ada.lovelace@example.org"},
		{name: "surrounding spaces trimmed", in: "  ada@example.com\t\n", want: "ada@example.com"},
		{name: "plus tag kept", in: "ada+sso@example.com", want: "ada+sso@example.com"},
		{name: "dots kept", in: "a.d.a@gmail.com", want: "a.d.a@gmail.com"},
		{name: "all atext specials", in: "!#$%&'*+-/=?^_`{|}~@example.com", want: "!#$%&'*+-/=?^_`{|}~@example.com"},
		{name: "subdomains", in: "ops@mail.eu.example.co.uk", want: "ops@mail.eu.example.co.uk"},
		{name: "hyphen and digits in domain", in: "x@my-host2.example", want: "x@my-host2.example"},
		{name: "numeric label not last", in: "x@123.example", want: "x@123.example"},
		{name: "punycode domain", in: "Hans@XN--BCHER-KVA.example", want: "hans@xn--bcher-kva.example"},
		{name: "punycode TLD", in: "a@example.xn--p1ai", want: "a@example.xn--p1ai"},
		{name: "one-letter everything", in: "a@b.c", want: "a@b.c"},
		{name: "local part 64", in: strings.Repeat("x", 64) + "@example.com", want: strings.Repeat("x", 64) + "@example.com"},
		{name: "label 63", in: "a@" + label63 + ".io", want: "a@" + label63 + ".io"},
		{name: "254 characters", in: longest, want: longest},

		// Refused: shape.
		{name: "empty", in: "", reason: "email address is required"},
		{name: "spaces only", in: "   ", reason: "email address is required"},
		{name: "255 characters", in: "l" + longest, reason: "email address must be at most 254 characters"},
		{name: "display name", in: "Ada <ada@example.com>", reason: "email address must be a bare address like name@example.com, without a display name"},
		{name: "angle brackets only", in: "<ada@example.com>"},
		{name: "quoted display name", in: `"Ada Lovelace" <ada@example.com>`},
		{name: "inner space", in: "ada lovelace@example.com", reason: "email address must not contain spaces or control characters"},
		{name: "space before @", in: "ada @example.com"},
		{name: "tab inside", in: "ada@exa\tmple.com"},
		{name: "newline inside (header injection)", in: "ada@example.com\nBcc: eve@example.com"},
		{name: "NUL", in: "ada\x00@example.com"},
		{name: "DEL", in: "ada\x7f@example.com"},
		{name: "no @", in: "ada.example.com", reason: "email address must contain exactly one @"},
		{name: "two @", in: "a@b@example.com", reason: "email address must contain exactly one @"},
		{name: "comment", in: "ada(work)@example.com", reason: "email address has a character not allowed before @"},
		{name: "group syntax", in: "team:ada@example.com;"},

		// Refused: local part.
		{name: "missing local part", in: "@example.com", reason: "email address is missing the part before @"},
		{name: "local part 65", in: strings.Repeat("x", 65) + "@example.com", reason: "email address must have at most 64 characters before @"},
		{name: "quoted local part", in: `"ada"@example.com`, reason: "email address must not use a quoted local part"},
		{name: "quoted local part with @", in: `"a@b"@example.com`},
		{name: "leading dot", in: ".ada@example.com", reason: "email address must not start or end the part before @ with a dot"},
		{name: "trailing dot", in: "ada.@example.com", reason: "email address must not start or end the part before @ with a dot"},
		{name: "consecutive dots", in: "a..b@x.io", reason: "email address must not contain consecutive dots"},
		{name: "backslash", in: `a\b@example.com`, reason: "email address has a character not allowed before @"},
		{name: "comma", in: "a,b@example.com"},
		{name: "square bracket", in: "a[b]@example.com"},
		{name: "non-ASCII local part", in: "josé@example.com", reason: "email address must contain only ASCII characters (use the xn-- form for international domains)"},

		// Refused: domain.
		{name: "missing domain", in: "ada@", reason: "email address is missing the domain after @"},
		{name: "single-label domain", in: "a@b", reason: "email address domain must contain a dot, like example.com"},
		{name: "localhost", in: "root@localhost"},
		{name: "trailing dot", in: "ada@example.com.", reason: "email address domain must not end with a dot"},
		{name: "leading dot", in: "ada@.example.com", reason: "email address domain is not a valid host name"},
		{name: "empty label", in: "ada@example..com", reason: "email address domain is not a valid host name"},
		{name: "label leading hyphen", in: "ada@-example.com"},
		{name: "label trailing hyphen", in: "ada@example-.com"},
		{name: "label 64", in: "a@" + strings.Repeat("d", 64) + ".io", reason: "email address domain is not a valid host name"},
		{name: "underscore", in: "ada@my_host.example.com"},
		{name: "IP literal", in: "ada@[192.0.2.1]"},
		{name: "bare IPv4", in: "ada@192.0.2.1", reason: "email address domain must end with a top-level domain, not a number"},
		{name: "unicode domain", in: "hans@bücher.example", reason: "email address must contain only ASCII characters (use the xn-- form for international domains)"},
		{name: "cyrillic look-alike domain", in: "ada@exаmple.com"},
		{name: "full-width at sign", in: "ada＠example.com"},
		{name: "invalid UTF-8", in: "ada@example.com\xff"},
		{name: "port", in: "ada@example.com:25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeEmail(tt.in)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				again, err := NormalizeEmail(got)
				if err != nil || again != got {
					t.Fatalf("NormalizeEmail is not idempotent: %q -> %q, %v", got, again, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidEmail) {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want ErrInvalidEmail", tt.in, got, err)
			}
			if got != "" {
				t.Fatalf("NormalizeEmail(%q) returned %q with its error", tt.in, got)
			}
			var ee *EmailError
			if !errors.As(err, &ee) {
				t.Fatalf("NormalizeEmail(%q) error is %T, want *EmailError", tt.in, err)
			}
			if ee.Error() != ee.Reason {
				t.Fatalf("Error() = %q, want the Reason %q", ee.Error(), ee.Reason)
			}
			if tt.reason != "" && ee.Reason != tt.reason {
				t.Fatalf("Reason = %q, want %q", ee.Reason, tt.reason)
			}
		})
	}
}

// TestNormalizeEmailDoesNotEcho checks that refusals never quote the input,
// so a reason can be shown or logged without repeating what the client
// sent.
func TestNormalizeEmailDoesNotEcho(t *testing.T) {
	for _, in := range []string{"Ada <ada@example.com>", "a..b@x.io", "secret-token@b", `"q"@x.io`} {
		_, err := NormalizeEmail(in)
		if err == nil || strings.Contains(err.Error(), in) {
			t.Errorf("NormalizeEmail(%q) = %v; want an error that does not quote the input", in, err)
		}
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@b.c", "A@Example.COM", "a..b@x.io", `"a"@b.c`, "Ada <a@b.c>", "a@b", "a@xn--bcher-kva.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeEmail(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidEmail) || got != "" {
				t.Fatalf("NormalizeEmail(%q) = %q, %v", s, got, err)
			}
			return
		}
		if len(got) > maxEmailLen || got != strings.ToLower(got) || strings.Count(got, "@") != 1 {
			t.Fatalf("NormalizeEmail(%q) = %q breaks an invariant", s, got)
		}
		if again, err := NormalizeEmail(got); err != nil || again != got {
			t.Fatalf("NormalizeEmail(%q) = %q, but that normalizes to %q, %v", s, got, again, err)
		}
	})
}
