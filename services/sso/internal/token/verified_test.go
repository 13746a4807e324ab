package token

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// movableClock is a clock tests set; safe for concurrent reads.
type movableClock struct{ at atomic.Int64 }

func (c *movableClock) now() time.Time  { return time.Unix(0, c.at.Load()).UTC() }
func (c *movableClock) set(t time.Time) { c.at.Store(t.UnixNano()) }

func cachedIssuer(t *testing.T, size int) (*Issuer, *movableClock) {
	t.Helper()
	var clk movableClock
	clk.set(t0)
	return NewIssuer(NewKeySet(newKey(t)), testIssuer, DefaultTTL, WithClock(clk.now), WithVerifiedCache(newVerifiedCache(t, size))), &clk
}

// newVerifiedCache returns a cache whose metrics go to a registry of its own.
func newVerifiedCache(t testing.TB, size int) *VerifiedCache {
	t.Helper()
	c, err := NewVerifiedCache(size, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func issue(t *testing.T, iss *Issuer, subject string) (string, Claims) {
	t.Helper()
	raw, c, err := iss.Issue(Claims{Subject: subject, Email: subject + "@example.com", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	return raw, c
}

func TestVerifiedCacheHit(t *testing.T) {
	iss, _ := cachedIssuer(t, 16)
	raw, issued := issue(t, iss, "u-1")
	for i := range 3 {
		got, err := iss.Verify(raw)
		if err != nil {
			t.Fatalf("Verify #%d: %v", i+1, err)
		}
		if got != issued {
			t.Fatalf("Verify #%d = %+v, want %+v", i+1, got, issued)
		}
	}
	want := `
# HELP sso_token_verified_cache_lookups_total Access-token verifications that looked in the verified-token cache, by result: hit (signature check skipped), miss.
# TYPE sso_token_verified_cache_lookups_total counter
sso_token_verified_cache_lookups_total{result="hit"} 2
sso_token_verified_cache_lookups_total{result="miss"} 1
# HELP sso_token_verified_cache_entries Verified access tokens the cache holds.
# TYPE sso_token_verified_cache_entries gauge
sso_token_verified_cache_entries 1
`
	if err := testutil.CollectAndCompare(iss.verified, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// A cached token expires on the same instant as one verified in full.
func TestVerifiedCacheExpiry(t *testing.T) {
	iss, clk := cachedIssuer(t, 16)
	raw, issued := issue(t, iss, "u-1")
	if _, err := iss.Verify(raw); err != nil {
		t.Fatal(err)
	}
	uncached := NewIssuer(iss.keys, testIssuer, DefaultTTL, WithClock(clk.now))
	for _, tt := range []struct {
		at      time.Time
		expired bool
	}{
		{issued.ExpiresAt, false},
		{issued.ExpiresAt.Add(Leeway - time.Nanosecond), false},
		{issued.ExpiresAt.Add(Leeway), true},
		{issued.ExpiresAt.Add(time.Hour), true},
	} {
		clk.set(tt.at)
		_, err := iss.Verify(raw)
		_, full := uncached.Verify(raw)
		if got := errors.Is(err, errExpired); got != tt.expired || (full != nil) != tt.expired {
			t.Errorf("at exp%+v: cached error %v, full error %v, want expired %t",
				tt.at.Sub(issued.ExpiresAt), err, full, tt.expired)
		}
	}
	if h := iss.verified.hits.Load(); h != 4 {
		t.Errorf("hits = %v, want 4 (expiry is decided on the cached entry)", h)
	}
}

// Any change to a cached token's bytes misses the cache and fails the full
// check: the key is the whole token.
func TestVerifiedCacheKeyIsWholeToken(t *testing.T) {
	iss, _ := cachedIssuer(t, 16)
	raw, _ := issue(t, iss, "u-1")
	if _, err := iss.Verify(raw); err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	parts := strings.Split(raw, ".")
	for _, forged := range []string{
		flip(parts[0], 3) + "." + parts[1] + "." + parts[2],
		parts[0] + "." + flip(parts[1], 10) + "." + parts[2],
		parts[0] + "." + parts[1] + "." + flip(parts[2], 5),
		raw + " ",
		" " + raw,
	} {
		if c, err := iss.Verify(forged); !errors.Is(err, ErrInvalid) || c != (Claims{}) {
			t.Errorf("Verify(forged %q...) = %+v, %v; want ErrInvalid", forged[len(forged)-12:], c, err)
		}
	}
	if n := iss.verified.len(); n != 1 {
		t.Errorf("cache holds %d entries, want 1: refused tokens must not get in", n)
	}
}

// The cache stays within its size, and a token in use survives any number
// of others passing through.
func TestVerifiedCacheBounded(t *testing.T) {
	const size = 8
	iss, _ := cachedIssuer(t, size)
	hot, _ := issue(t, iss, "hot")
	for i := range 100 {
		raw, _ := issue(t, iss, fmt.Sprintf("u-%d", i))
		if _, err := iss.Verify(raw); err != nil {
			t.Fatal(err)
		}
		if _, err := iss.Verify(hot); err != nil {
			t.Fatal(err)
		}
		if n := iss.verified.len(); n > size {
			t.Fatalf("after %d tokens the cache holds %d entries, want at most %d", i+1, n, size)
		}
	}
	// hot missed once, on its first check; every later check was a hit.
	if h := iss.verified.hits.Load(); h != 99 {
		t.Errorf("hits = %v, want 99 (the token in use was evicted)", h)
	}
}

func TestVerifiedCacheConcurrent(t *testing.T) {
	iss, _ := cachedIssuer(t, 4)
	tokens := make([]string, 8)
	want := make([]Claims, len(tokens))
	for i := range tokens {
		tokens[i], want[i] = issue(t, iss, fmt.Sprintf("u-%d", i))
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (w + i) % len(tokens)
				got, err := iss.Verify(tokens[k])
				if err != nil || got != want[k] {
					t.Errorf("Verify(token %d) = %+v, %v; want %+v", k, got, err, want[k])
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestVerifiedCacheRechecksNotBefore turns the clock back after a token is
// cached: the cached answer refuses it as not valid yet, as a full check
// does, and takes it again once the clock is past iat and nbf.
func TestVerifiedCacheRechecksNotBefore(t *testing.T) {
	iss, clk := cachedIssuer(t, 16)
	raw, _ := issue(t, iss, "u-1")
	if _, err := iss.Verify(raw); err != nil {
		t.Fatal(err)
	}
	clk.set(t0.Add(-Leeway - time.Second))
	if _, err := iss.Verify(raw); !errors.Is(err, ErrInvalid) || !errors.Is(err, errNotYetValid) {
		t.Fatalf("cached Verify with the clock before nbf: %v, want not valid yet", err)
	}
	uncached := NewIssuer(iss.keys, testIssuer, DefaultTTL, WithClock(clk.now))
	if _, err := uncached.Verify(raw); !errors.Is(err, errNotYetValid) {
		t.Fatalf("full Verify with the clock before nbf: %v, want not valid yet", err)
	}
	clk.set(t0.Add(-Leeway + time.Second))
	if _, err := iss.Verify(raw); err != nil {
		t.Fatalf("cached Verify within the leeway: %v", err)
	}
}
