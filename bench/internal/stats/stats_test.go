package stats

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(i + 1) // 1..100 ms
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single p50", []time.Duration{ms(7)}, 50, ms(7)},
		{"single p99", []time.Duration{ms(7)}, 99, ms(7)},
		{"1..100 p50", hundred, 50, ms(50)},
		{"1..100 p95", hundred, 95, ms(95)},
		{"1..100 p99", hundred, 99, ms(99)},
		{"1..100 p100", hundred, 100, ms(100)},
		{"1..100 tiny p", hundred, 0.001, ms(1)},
		// Nearest rank: p50 of four samples is the 2nd, p51 the 3rd.
		{"four p50", []time.Duration{ms(1), ms(2), ms(3), ms(4)}, 50, ms(2)},
		{"four p51", []time.Duration{ms(1), ms(2), ms(3), ms(4)}, 51, ms(3)},
		{"four p99", []time.Duration{ms(1), ms(2), ms(3), ms(4)}, 99, ms(4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Fatalf("Percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	lat := make([]time.Duration, 0, 1000)
	for i := range 1000 {
		lat = append(lat, ms(i+1))
	}
	rand.Shuffle(len(lat), func(i, j int) { lat[i], lat[j] = lat[j], lat[i] })
	s := Summarize(lat, map[string]int64{"UNAVAILABLE": 3, "HTTP 409": 2}, 4*time.Second)

	want := Summary{
		Ops: 1000, Errors: 5, ErrorsByCode: map[string]int64{"UNAVAILABLE": 3, "HTTP 409": 2},
		Seconds: 4, Throughput: 250, MeanMs: 500.5, P50Ms: 500, P95Ms: 950, P99Ms: 990, MaxMs: 1000,
	}
	if s.Ops != want.Ops || s.Errors != want.Errors || s.Seconds != want.Seconds || s.Throughput != want.Throughput ||
		s.MeanMs != want.MeanMs || s.P50Ms != want.P50Ms || s.P95Ms != want.P95Ms || s.P99Ms != want.P99Ms || s.MaxMs != want.MaxMs {
		t.Fatalf("Summarize = %+v\nwant       %+v", s, want)
	}
	if s.ErrorsByCode["UNAVAILABLE"] != 3 || s.ErrorsByCode["HTTP 409"] != 2 || len(s.ErrorsByCode) != 2 {
		t.Fatalf("ErrorsByCode = %v", s.ErrorsByCode)
	}
}

func TestSummarizeNoSamples(t *testing.T) {
	s := Summarize(nil, map[string]int64{}, 0)
	if s.Ops != 0 || s.Throughput != 0 || s.P99Ms != 0 || s.ErrorsByCode != nil {
		t.Fatalf("Summarize(nothing) = %+v, want zeros and no error map", s)
	}
}

func TestRecorderMergesShards(t *testing.T) {
	var r Recorder
	var wg sync.WaitGroup
	for w := range 8 {
		sh := r.Shard()
		wg.Go(func() {
			for i := range 100 {
				sh.Observe(ms(w*100 + i + 1)) // 1..800 ms over all workers
			}
			if w%2 == 0 {
				sh.Fail("DEADLINE_EXCEEDED")
			}
		})
	}
	wg.Wait()
	s := r.Summary(2 * time.Second)
	if s.Ops != 800 || s.Throughput != 400 || s.MaxMs != 800 || s.P50Ms != 400 {
		t.Fatalf("Summary = %+v, want 800 ops, 400/s, max 800 ms, p50 400 ms", s)
	}
	if s.Errors != 4 || s.ErrorsByCode["DEADLINE_EXCEEDED"] != 4 {
		t.Fatalf("errors = %d %v, want 4 DEADLINE_EXCEEDED", s.Errors, s.ErrorsByCode)
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		measured, ceiling, want float64
	}{
		{68, 80, 0.85},
		{80, 80, 1},
		{0, 80, 0},
		{50, 0, 0},  // ceiling not measured
		{50, -1, 0}, // nonsense ceiling
	}
	for _, tt := range tests {
		if got := Ratio(tt.measured, tt.ceiling); got != tt.want {
			t.Errorf("Ratio(%v, %v) = %v, want %v", tt.measured, tt.ceiling, got, tt.want)
		}
	}
}
