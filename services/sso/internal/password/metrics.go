package password

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// HashBuckets are the buckets, in seconds, of
// sso_password_hash_duration_seconds, around argon2id's tens of
// milliseconds at the recommended costs.
var HashBuckets = []float64{.005, .01, .02, .03, .05, .075, .1, .15, .25, .5, 1, 2.5}

// Metrics times the argon2id work of a Hasher:
// sso_password_hash_duration_seconds{op}, op "hash" or "verify". The time
// includes the wait for a free slot (Params.MaxConcurrent), so a flood of
// logins shows as rising latency here; calls refused before any work (a
// password too long, a malformed stored hash) are not timed.
type Metrics struct {
	seconds *prometheus.HistogramVec
}

// NewMetrics registers the hashing metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sso_password_hash_duration_seconds",
		Help:    "Time to hash a new password or verify one against its stored hash (argon2id), waiting for a free slot included, by op: hash, verify.",
		Buckets: HashBuckets,
	}, []string{"op"})}
	m.seconds.WithLabelValues(opHash)
	m.seconds.WithLabelValues(opVerify)
	if err := reg.Register(m.seconds); err != nil {
		return nil, fmt.Errorf("password metrics: %w", err)
	}
	return m, nil
}

// Option configures NewHasher.
type Option func(*Hasher)

// WithMetrics makes the Hasher time its work on m.
func WithMetrics(m *Metrics) Option {
	return func(h *Hasher) { h.metrics = m }
}

// Label values of the op label.
const (
	opHash   = "hash"
	opVerify = "verify"
)
