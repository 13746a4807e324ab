package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// tokenCacheLookups are sso's verified-token cache counters
// (sso_token_verified_cache_lookups_total) at one moment.
type tokenCacheLookups struct{ hits, misses float64 }

// readTokenCache reads the cache counters from sso's /metrics. ok is false
// when sso exports none, as with SSO_TOKEN_CACHE_SIZE=0.
func readTokenCache(hc *http.Client, ssoHTTP string) (l tokenCacheLookups, ok bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(ssoHTTP, "/")+"/metrics", nil)
	if err != nil {
		return l, false, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return l, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return l, false, fmt.Errorf("sso /metrics: %s", resp.Status)
	}
	const name = "sso_token_verified_cache_lookups_total{"
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		rest, ours := strings.CutPrefix(sc.Text(), name)
		labels, value, found := strings.Cut(rest, "} ")
		if !ours || !found {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return l, false, fmt.Errorf("sso /metrics: %s: %w", sc.Text(), err)
		}
		switch labels {
		case `result="hit"`:
			l.hits, ok = v, true
		case `result="miss"`:
			l.misses, ok = v, true
		}
	}
	return l, ok, sc.Err()
}

// hitRatio is the share of lookups between l0 and l1 that were hits, and
// false when there were none.
func hitRatio(l0, l1 tokenCacheLookups) (float64, bool) {
	hits, all := l1.hits-l0.hits, l1.hits-l0.hits+l1.misses-l0.misses
	if all <= 0 {
		return 0, false
	}
	return hits / all, true
}
