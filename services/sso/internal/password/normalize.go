package password

import "golang.org/x/text/unicode/norm"

// Normalize returns pw in Unicode normalization form NFKC, as NIST SP
// 800-63B recommends before hashing, so that equivalent spellings of one
// password (composed or decomposed accents, full-width or half-width forms)
// become the same bytes. Policy and Hasher call it themselves; callers only
// need it to compare passwords outside this package. Invalid UTF-8 is
// passed through unchanged.
func Normalize(pw string) string {
	return norm.NFKC.String(pw)
}
