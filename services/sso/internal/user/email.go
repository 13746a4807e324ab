package user

import (
	"errors"
	"net/mail"
	"strings"
)

// E-mail length limits from RFC 5321 (section 4.5.3.1): a path holds at
// most 256 octets including the angle brackets, so 254 for the address
// (which also keeps the domain under its own 253 limit); a local part at
// most 64; a DNS label 63 (RFC 1035).
const (
	maxEmailLen = 254
	maxLocalLen = 64
	maxLabelLen = 63
)

// ErrInvalidEmail means an e-mail address is not one sso accepts. Errors
// returned by NormalizeEmail wrap it and say why in a message safe to show
// to the client.
var ErrInvalidEmail = errors.New("invalid email address")

// EmailError refuses an e-mail address. Its message is Reason, which is
// safe to show to the client; errors.Is matches it against ErrInvalidEmail.
type EmailError struct {
	Reason string
}

func (e *EmailError) Error() string { return e.Reason }

// Unwrap returns ErrInvalidEmail.
func (e *EmailError) Unwrap() error { return ErrInvalidEmail }

func invalidEmail(reason string) error { return &EmailError{Reason: reason} }

// NormalizeEmail returns the canonical form of an e-mail address typed by
// a user, or an *EmailError (wrapping ErrInvalidEmail) saying why it is
// refused. The canonical form is the key accounts are unique by and are
// looked up with, so every path that takes an address from outside goes
// through here.
//
// It accepts the plain name@domain form people use for sign-in, a subset
// of RFC 5321/5322 chosen to be unambiguous:
//
//   - Surrounding white space is trimmed; anything else that is not part of
//     a bare address is refused: display names ("Ada <ada@example.com>"),
//     comments, inner spaces, control characters, more than one @.
//   - The local part is a dot-atom of at most 64 characters: letters,
//     digits and !#$%&'*+-/=?^_`{|}~, with dots only between them (no
//     leading, trailing or doubled dots). Quoted local parts ("a b"@x.io)
//     are refused: almost no real mailbox needs one, and they allow
//     spaces, @ and backslashes that make addresses look alike.
//   - The domain is a host name of at least two dot-separated labels of
//     letters, digits and hyphens (no leading or trailing hyphen, at most 63
//     characters each), without a trailing dot and with a top-level label
//     that is not all digits. IP literals ([192.0.2.1]) and single-label
//     hosts (localhost) are refused: they cannot receive our e-mail.
//   - Only ASCII is accepted. An internationalized domain must be given in
//     its punycode form (xn--bcher-kva.example, not bücher.example):
//     converting it ourselves would apply IDNA mapping rules whose edge
//     cases differ between implementations, and non-ASCII lets look-alike
//     characters from other scripts pass for a different address.
//     Non-ASCII local parts (RFC 6531) are refused for the same reason and
//     because our mail path does not promise SMTPUTF8.
//   - The whole address is at most 254 characters.
//
// The result is lowercased entirely. RFC 5321 lets a mail server treat the
// local part case-sensitively, but practically none does, and people type
// their address with whatever capitals their phone adds: treating
// Ada@Example.com and ada@example.com as two accounts would let one person
// register twice and make logins fail on a capital letter. Provider-specific
// rewrites (dropping dots or +tags for Gmail) are not applied: they are
// not true of other providers, and the address would no longer be the one
// the user typed.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", invalidEmail("email address is required")
	case len(s) > maxEmailLen:
		return "", invalidEmail("email address must be at most 254 characters")
	case strings.ContainsAny(s, "<>"):
		return "", invalidEmail("email address must be a bare address like name@example.com, without a display name")
	}
	for i := range len(s) {
		switch c := s[i]; {
		case c <= ' ' || c == 0x7f:
			return "", invalidEmail("email address must not contain spaces or control characters")
		case c >= 0x80:
			return "", invalidEmail("email address must contain only ASCII characters (use the xn-- form for international domains)")
		}
	}
	if strings.Count(s, "@") != 1 {
		return "", invalidEmail("email address must contain exactly one @")
	}
	local, domain, _ := strings.Cut(s, "@")
	if err := checkLocal(local); err != nil {
		return "", err
	}
	if err := checkDomain(domain); err != nil {
		return "", err
	}
	// The rules above are stricter than RFC 5322; the standard parser is a
	// second opinion that what passed them is an address and nothing else.
	if a, err := mail.ParseAddress(s); err != nil || a.Name != "" || a.Address != s {
		return "", invalidEmail("email address is not valid")
	}
	return strings.ToLower(s), nil
}

// checkLocal accepts a dot-atom local part of 1 to 64 characters.
func checkLocal(local string) error {
	switch {
	case local == "":
		return invalidEmail("email address is missing the part before @")
	case len(local) > maxLocalLen:
		return invalidEmail("email address must have at most 64 characters before @")
	case strings.ContainsRune(local, '"'):
		return invalidEmail("email address must not use a quoted local part")
	case local[0] == '.' || local[len(local)-1] == '.':
		return invalidEmail("email address must not start or end the part before @ with a dot")
	case strings.Contains(local, ".."):
		return invalidEmail("email address must not contain consecutive dots")
	}
	for i := range len(local) {
		if !isAtext(local[i]) && local[i] != '.' {
			return invalidEmail("email address has a character not allowed before @")
		}
	}
	return nil
}

// checkDomain accepts a multi-label LDH host name.
func checkDomain(domain string) error {
	switch {
	case domain == "":
		return invalidEmail("email address is missing the domain after @")
	case strings.HasSuffix(domain, "."):
		return invalidEmail("email address domain must not end with a dot")
	case !strings.Contains(domain, "."):
		return invalidEmail("email address domain must contain a dot, like example.com")
	}
	labels := strings.Split(domain, ".")
	for _, l := range labels {
		if !isLDHLabel(l) {
			return invalidEmail("email address domain is not a valid host name")
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return invalidEmail("email address domain must end with a top-level domain, not a number")
	}
	return nil
}

// isLDHLabel reports whether l is a DNS label of letters, digits and
// hyphens, 1 to 63 long, not starting or ending with a hyphen.
func isLDHLabel(l string) bool {
	if l == "" || len(l) > maxLabelLen || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := range len(l) {
		c := l[i]
		if !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// isAtext reports whether c may appear in an RFC 5322 atom.
func isAtext(c byte) bool {
	return isAlnum(c) || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
