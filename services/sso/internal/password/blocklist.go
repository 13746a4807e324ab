package password

import (
	_ "embed"
	"strings"
	"sync"
)

// commonTxt is the blocklist: lowercase, one password per line. It was
// composed for this project from the passwords that top the published
// breach-corpus rankings (123456, password, qwerty, iloveyou, ...),
// keyboard walks, digit runs, and the usual words, names, teams and
// brands followed by the suffixes people add to reach a length rule
// ("1", "123", "!", a year). Only entries of at least DefaultMinLength
// code points are kept: shorter ones are refused by length anyway.
//
//go:embed common.txt
var commonTxt string

// commonSet is the blocklist as a set, built on first use.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	lines := strings.Split(commonTxt, "\n")
	set := make(map[string]struct{}, len(lines))
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			set[l] = struct{}{}
		}
	}
	return set
})

// isCommon reports whether the normalized, lowercased password folded is
// on the blocklist.
func isCommon(folded string) bool {
	_, ok := commonSet()[folded]
	return ok
}
