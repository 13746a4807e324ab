// Package stats turns latency samples into the figures a benchmark reports:
// throughput, percentiles, error counts, and ratios against a ceiling.
//
// Latencies are kept exactly (one time.Duration per operation) rather than
// in a histogram: a run of a few minutes at ten thousand operations a second
// holds a few million samples, tens of megabytes, and exact samples make the
// percentiles exact and the tests simple. Each worker records into its own
// Shard, so recording takes no lock.
package stats

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Recorder collects the outcomes of one operation from many goroutines.
type Recorder struct {
	mu     sync.Mutex
	shards []*Shard
}

// Shard is one goroutine's part of a Recorder; it is not safe for
// concurrent use.
type Shard struct {
	latencies []time.Duration
	errors    map[string]int64
}

// Shard returns a new shard of r for one goroutine.
func (r *Recorder) Shard() *Shard {
	s := &Shard{errors: make(map[string]int64)}
	r.mu.Lock()
	r.shards = append(r.shards, s)
	r.mu.Unlock()
	return s
}

// Observe records a successful operation that took d.
func (s *Shard) Observe(d time.Duration) { s.latencies = append(s.latencies, d) }

// Fail records a failed operation by its error code (a gRPC code name, an
// HTTP status, "transport"); failures do not enter the latency figures.
func (s *Shard) Fail(code string) { s.errors[code]++ }

// Summary merges the shards of r. Call it only once every goroutine that
// records into r has stopped. window is the measured wall time the
// throughput is computed over.
func (r *Recorder) Summary(window time.Duration) Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []time.Duration
	errs := make(map[string]int64)
	for _, s := range r.shards {
		all = append(all, s.latencies...)
		for code, n := range s.errors {
			errs[code] += n
		}
	}
	return Summarize(all, errs, window)
}

// Summary describes one operation over a measured window. Latencies are in
// milliseconds; Throughput counts successful operations per second.
type Summary struct {
	Ops          int64            `json:"ops"`
	Errors       int64            `json:"errors"`
	ErrorsByCode map[string]int64 `json:"errors_by_code,omitempty"`
	Seconds      float64          `json:"seconds"`
	Throughput   float64          `json:"throughput_per_s"`
	MeanMs       float64          `json:"mean_ms"`
	P50Ms        float64          `json:"p50_ms"`
	P95Ms        float64          `json:"p95_ms"`
	P99Ms        float64          `json:"p99_ms"`
	MaxMs        float64          `json:"max_ms"`
}

// Summarize computes a Summary from successful-operation latencies (sorted
// in place), error counts by code, and the measured window.
func Summarize(latencies []time.Duration, errs map[string]int64, window time.Duration) Summary {
	slices.Sort(latencies)
	s := Summary{Ops: int64(len(latencies)), Seconds: window.Seconds()}
	for _, n := range errs {
		s.Errors += n
	}
	if s.Errors > 0 {
		s.ErrorsByCode = errs
	}
	if window > 0 {
		s.Throughput = float64(len(latencies)) / window.Seconds()
	}
	if len(latencies) == 0 {
		return s
	}
	var sum time.Duration
	for _, d := range latencies {
		sum += d
	}
	s.MeanMs = Ms(sum / time.Duration(len(latencies)))
	s.P50Ms = Ms(Percentile(latencies, 50))
	s.P95Ms = Ms(Percentile(latencies, 95))
	s.P99Ms = Ms(Percentile(latencies, 99))
	s.MaxMs = Ms(latencies[len(latencies)-1])
	return s
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest sample that at least p percent of the
// samples do not exceed. It returns 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Ms converts d to fractional milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Ratio returns measured/ceiling, or 0 when the ceiling is not positive
// (not measured).
func Ratio(measured, ceiling float64) float64 {
	if ceiling <= 0 {
		return 0
	}
	return measured / ceiling
}
