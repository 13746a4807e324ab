package gobench

import (
	"os"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	f, err := os.Open("testdata/sso.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	results, problems, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	const (
		token  = "github.com/ssokit/platform/services/sso/internal/token"
		redis  = "github.com/ssokit/platform/services/sso/internal/redis"
		outbox = "github.com/ssokit/platform/services/sso/internal/outbox"
	)
	want := []struct {
		pkg, name  string
		procs      int
		iterations int64
		metrics    map[string]float64
	}{
		{token, "Issue", 2, 26937, map[string]float64{"ns/op": 44526, "B/op": 4872, "allocs/op": 54}},
		{token, "Verify", 2, 13552, map[string]float64{"ns/op": 88401, "B/op": 5336, "allocs/op": 78}},
		{redis, "Rotate", 2, 6788, map[string]float64{"ns/op": 176340, "B/op": 1360, "allocs/op": 33}},
		{redis, "AccessRevoked", 2, 14233, map[string]float64{"ns/op": 83967, "B/op": 216, "allocs/op": 7}},
		{outbox, "Claim/batch=10", 2, 411, map[string]float64{"ns/op": 2905125, "rows/op": 10, "ns/row": 290512, "B/op": 12345, "allocs/op": 120}},
		{outbox, "Claim/batch=1000", 2, 30, map[string]float64{"ns/op": 40151007, "rows/op": 1000, "ns/row": 40151, "B/op": 1234567, "allocs/op": 12000}},
		{outbox, "NoProcs", 1, 100, map[string]float64{"ns/op": 5.5}},
	}
	if len(results) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(results), len(want), results)
	}
	for i, w := range want {
		r := results[i]
		if r.Package != w.pkg || r.Name != w.name || r.Procs != w.procs || r.Iterations != w.iterations {
			t.Errorf("result %d = %s %s-%d x%d, want %s %s-%d x%d", i, r.Package, r.Name, r.Procs, r.Iterations, w.pkg, w.name, w.procs, w.iterations)
		}
		if len(r.Metrics) != len(w.metrics) {
			t.Errorf("result %d metrics = %v, want %v", i, r.Metrics, w.metrics)
		}
		for unit, v := range w.metrics {
			if r.Metrics[unit] != v {
				t.Errorf("result %d %s = %v, want %v", i, unit, r.Metrics[unit], v)
			}
		}
	}
	if got := results[0].PerSecond(); int(got) != 22458 {
		t.Errorf("Issue PerSecond = %v, want 1e9/44526 = 22458", got)
	}
	if len(problems) != 2 || !strings.Contains(problems[0], "--- FAIL: BenchmarkBroken") ||
		!strings.HasPrefix(problems[0], outbox+": ") || !strings.Contains(problems[1], "--- SKIP: BenchmarkNeedsKafka") {
		t.Fatalf("problems = %q", problems)
	}
}

func TestSplitName(t *testing.T) {
	tests := []struct {
		in    string
		name  string
		procs int
	}{
		{"BenchmarkIssue-2", "Issue", 2},
		{"BenchmarkIssue-16", "Issue", 16},
		{"BenchmarkIssue", "Issue", 1},
		{"BenchmarkClaim/batch=10-2", "Claim/batch=10", 2},
		{"BenchmarkClaim/mode=a-b", "Claim/mode=a-b", 1},
	}
	for _, tt := range tests {
		if name, procs := splitName(tt.in); name != tt.name || procs != tt.procs {
			t.Errorf("splitName(%q) = %q, %d; want %q, %d", tt.in, name, procs, tt.name, tt.procs)
		}
	}
}

func TestParseIgnoresNoise(t *testing.T) {
	in := "BenchmarkX-2 \t not-a-number ns/op\nrandom text 12 ns/op\n   100   12 ns/op\nBenchmarkY-2  10  7 ns/op trailing\n"
	results, problems, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	// "BenchmarkX-2 not-a-number" leaves X pending, and the bare
	// "100 12 ns/op" line that follows is its result.
	if len(results) != 1 || results[0].Name != "X" || results[0].NsPerOp() != 12 || results[0].Iterations != 100 || len(problems) != 0 {
		t.Fatalf("Parse(noise) = %+v, %q", results, problems)
	}
}
