package token

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// VerifiedCache remembers the claims of access tokens an [Issuer] has
// verified, so that checking the same token again skips the Ed25519
// signature check (about 50 µs of CPU, 40% of a Validate call) and the
// decoding. A resource server validates the same bearer token on each of
// its requests for the token's 15 minutes, so most checks are repeats.
//
// Only tokens that passed every check get in: a forged or malformed token
// is verified in full each time, so garbage cannot fill or poison the
// cache. Entries are keyed by the SHA-256 of the whole token, so a hit is
// the token that was verified, byte for byte. A hit is still held against
// the clock (exp, with [Leeway]). Revocation is not the cache's concern: it
// is checked on every call, after Verify. The key set is fixed for an
// Issuer's lifetime, so no entry can outlive the key that signed it.
//
// The cache holds at most its size in entries, in two generations: new
// entries go into the current one, and when it is full the previous one is
// dropped and the current one takes its place. A hit in the previous
// generation moves the entry forward, so tokens in use stay and tokens no
// longer used leave within two generations. That costs one map write per
// cold hit and no per-entry bookkeeping, unlike a strict LRU.
//
// A VerifiedCache is a [prometheus.Collector] of its hits, misses and size.
// It is safe for concurrent use.
type VerifiedCache struct {
	perGeneration int

	mu       sync.Mutex
	current  map[[sha256.Size]byte]Claims
	previous map[[sha256.Size]byte]Claims

	hits, misses atomic.Uint64
}

// NewVerifiedCache returns a cache of up to size entries (at least 2),
// registered on reg for its metrics.
func NewVerifiedCache(size int, reg prometheus.Registerer) (*VerifiedCache, error) {
	per := max(size/2, 1)
	c := &VerifiedCache{
		perGeneration: per,
		current:       make(map[[sha256.Size]byte]Claims, per),
	}
	if err := reg.Register(c); err != nil {
		return nil, fmt.Errorf("token cache metrics: %w", err)
	}
	return c, nil
}

// WithVerifiedCache makes the Issuer remember the tokens it verified in c.
func WithVerifiedCache(c *VerifiedCache) IssuerOption {
	return func(i *Issuer) { i.verified = c }
}

func (c *VerifiedCache) get(key [sha256.Size]byte) (Claims, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.current[key]
	if !ok {
		if cl, ok = c.previous[key]; ok {
			c.putLocked(key, cl)
		}
	}
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return cl, ok
}

func (c *VerifiedCache) put(key [sha256.Size]byte, cl Claims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(key, cl)
}

func (c *VerifiedCache) putLocked(key [sha256.Size]byte, cl Claims) {
	if len(c.current) >= c.perGeneration {
		c.previous = c.current
		c.current = make(map[[sha256.Size]byte]Claims, c.perGeneration)
	}
	c.current[key] = cl
}

// len is the number of entries held, counting one moved forward twice.
func (c *VerifiedCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.current) + len(c.previous)
}

var (
	verifiedLookupsDesc = prometheus.NewDesc("sso_token_verified_cache_lookups_total",
		"Access-token verifications that looked in the verified-token cache, by result: hit (signature check skipped), miss.",
		[]string{"result"}, nil)
	verifiedEntriesDesc = prometheus.NewDesc("sso_token_verified_cache_entries",
		"Verified access tokens the cache holds.", nil, nil)
)

// Describe implements [prometheus.Collector].
func (c *VerifiedCache) Describe(ch chan<- *prometheus.Desc) {
	ch <- verifiedLookupsDesc
	ch <- verifiedEntriesDesc
}

// Collect implements [prometheus.Collector].
func (c *VerifiedCache) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(verifiedLookupsDesc, prometheus.CounterValue, float64(c.hits.Load()), "hit")
	ch <- prometheus.MustNewConstMetric(verifiedLookupsDesc, prometheus.CounterValue, float64(c.misses.Load()), "miss")
	ch <- prometheus.MustNewConstMetric(verifiedEntriesDesc, prometheus.GaugeValue, float64(c.len()))
}
