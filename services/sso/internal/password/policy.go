package password

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Policy length limits, in Unicode code points after Normalize.
const (
	// DefaultMinLength is NIST SP 800-63B's minimum for a password chosen
	// by its user; a Policy may demand more, never less.
	DefaultMinLength = 8
	// DefaultMaxLength leaves room for passphrases and password managers.
	DefaultMaxLength = 256
	// minMaxLength is the least maximum NIST allows a verifier to impose.
	minMaxLength = 64
	// maxPolicyLength is the largest maximum a Policy may set; it bounds
	// the work of normalizing and hashing a single request (see
	// MaxPasswordBytes).
	maxPolicyLength = 1024
)

var (
	// ErrTooShort means a password has fewer code points than MinLength.
	ErrTooShort = errors.New("password too short")
	// ErrTooLong means a password has more code points than MaxLength (or
	// more bytes than any such password could have).
	ErrTooLong = errors.New("password too long")
	// ErrTooCommon means a password is on the blocklist of commonly used
	// passwords or repeats a single character.
	ErrTooCommon = errors.New("password too common")
	// ErrContainsEmail means a password is the account's e-mail address or
	// its local part.
	ErrContainsEmail = errors.New("password is the e-mail address")
	// ErrInvalidUTF8 means a password is not valid UTF-8 text.
	ErrInvalidUTF8 = errors.New("password is not valid UTF-8")
	// ErrInvalidPolicy means a Policy's limits are out of bounds; it is a
	// configuration error, not the user's.
	ErrInvalidPolicy = errors.New("invalid password policy")
)

// PolicyError refuses a password. Its message is Reason, which is safe to
// show to the client; errors.Is matches it against the sentinel that names
// the rule (ErrTooShort, ErrTooLong, ErrTooCommon, ErrContainsEmail,
// ErrInvalidUTF8).
type PolicyError struct {
	Reason string
	err    error
}

func (e *PolicyError) Error() string { return e.Reason }

// Unwrap returns the sentinel of the rule the password broke.
func (e *PolicyError) Unwrap() error { return e.err }

// Policy decides which new passwords are acceptable, following NIST SP
// 800-63B: a length window in Unicode code points counted after Normalize
// and, so that the limits the API document states hold for what a client
// sends, also as sent (normalization can merge or split code points), a
// blocklist of common passwords, and nothing about which kinds of
// characters a password must contain. The zero value is the default
// policy (8 to 256).
type Policy struct {
	// MinLength is the least number of code points, at least 8; zero means
	// DefaultMinLength.
	MinLength int
	// MaxLength is the most code points, from 64 to 1024 and not below
	// MinLength; zero means DefaultMaxLength. Longer passwords are refused,
	// never truncated.
	MaxLength int
}

// Validate reports, wrapping ErrInvalidPolicy, limits outside what NIST
// SP 800-63B and MaxPasswordBytes allow. Check and CheckLength return the
// same error, so validating at start-up turns a bad setting into a failed
// start instead of failed registrations.
func (p Policy) Validate() error {
	_, _, err := p.limits()
	return err
}

func (p Policy) limits() (minLen, maxLen int, err error) {
	minLen, maxLen = p.MinLength, p.MaxLength
	if minLen == 0 {
		minLen = DefaultMinLength
	}
	if maxLen == 0 {
		maxLen = DefaultMaxLength
	}
	switch {
	case minLen < DefaultMinLength:
		return 0, 0, fmt.Errorf("%w: minimum length %d below %d", ErrInvalidPolicy, minLen, DefaultMinLength)
	case maxLen < minMaxLength || maxLen > maxPolicyLength:
		return 0, 0, fmt.Errorf("%w: maximum length %d outside [%d, %d]", ErrInvalidPolicy, maxLen, minMaxLength, maxPolicyLength)
	case minLen > maxLen:
		return 0, 0, fmt.Errorf("%w: minimum length %d above maximum %d", ErrInvalidPolicy, minLen, maxLen)
	}
	return minLen, maxLen, nil
}

// Check accepts or refuses pw as the new password of the account email
// (normalized or not; empty skips the e-mail rule). A refusal is a
// *PolicyError. Rules, in order: valid UTF-8; MinLength to MaxLength code
// points, as given and after Normalize; not the e-mail address or its local part; not a
// commonly used password nor one character repeated. The e-mail and
// blocklist comparisons ignore case.
func (p Policy) Check(pw, email string) error {
	minLen, maxLen, err := p.limits()
	if err != nil {
		return err
	}
	n, err := normalizeBounded(pw, maxLen)
	if err != nil {
		return err
	}
	if utf8.RuneCountInString(n) < minLen || utf8.RuneCountInString(pw) < minLen {
		return &PolicyError{Reason: fmt.Sprintf("password must be at least %d characters", minLen), err: ErrTooShort}
	}
	folded := strings.ToLower(n)
	if isEmail(folded, email) {
		return &PolicyError{Reason: "password must not be your e-mail address", err: ErrContainsEmail}
	}
	if isCommon(folded) || repeatsOneRune(folded) {
		return &PolicyError{Reason: "password is too common", err: ErrTooCommon}
	}
	return nil
}

// CheckLength refuses only what no Policy with these limits could ever
// have accepted: invalid UTF-8 and passwords over MaxLength. Logins use it
// to skip hashing oversized input while still letting in users whose
// passwords predate a change of the other rules (a longer minimum, a new
// blocklist entry).
func (p Policy) CheckLength(pw string) error {
	_, maxLen, err := p.limits()
	if err != nil {
		return err
	}
	_, err = normalizeBounded(pw, maxLen)
	return err
}

// normalizeBounded returns Normalize(pw), or a PolicyError if pw is not
// UTF-8 or has more than maxLen code points once normalized. It refuses
// input longer than 4*maxLen bytes (the most maxLen code points take)
// before reading it, so an oversized request costs nothing to refuse.
func normalizeBounded(pw string, maxLen int) (string, error) {
	tooLong := func() error {
		return &PolicyError{Reason: fmt.Sprintf("password must be at most %d characters", maxLen), err: ErrTooLong}
	}
	if len(pw) > utf8.UTFMax*maxLen {
		return "", tooLong()
	}
	if !utf8.ValidString(pw) {
		return "", &PolicyError{Reason: "password must be valid UTF-8 text", err: ErrInvalidUTF8}
	}
	if utf8.RuneCountInString(pw) > maxLen {
		return "", tooLong()
	}
	n := Normalize(pw)
	if utf8.RuneCountInString(n) > maxLen {
		return "", tooLong()
	}
	return n, nil
}

// isEmail reports whether the case-folded password folded is the address
// email or its local part.
func isEmail(folded, email string) bool {
	email = strings.ToLower(Normalize(strings.TrimSpace(email)))
	if email == "" {
		return false
	}
	if folded == email {
		return true
	}
	at := strings.LastIndexByte(email, '@')
	return at > 0 && folded == email[:at]
}

// repeatsOneRune reports whether s is one code point repeated
// ("aaaaaaaa"), the simplest of the repetitive passwords NIST asks
// verifiers to refuse; longer patterns are on the blocklist.
func repeatsOneRune(s string) bool {
	if s == "" {
		return false
	}
	first, size := utf8.DecodeRuneInString(s)
	return strings.Count(s, string(first))*size == len(s)
}
