package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/bench/internal/ceiling"
	"github.com/ssokit/platform/bench/internal/gobench"
	"github.com/ssokit/platform/bench/internal/load"
	"github.com/ssokit/platform/bench/internal/pipeline"
	"github.com/ssokit/platform/bench/internal/stats"
)

func run(profile, transport string, c int, op string, perSec, p99 float64) Run {
	return Run{Result: load.Result{
		Profile: profile, Transport: transport, Concurrency: c, Seconds: 5,
		Ops: map[string]stats.Summary{op: {Ops: int64(perSec * 5), Throughput: perSec, P50Ms: p99 / 4, P95Ms: p99 / 2, P99Ms: p99, MaxMs: p99 * 2}},
	}}
}

// sample is a report in which some targets are met and some missed.
func sample() *Report {
	return &Report{
		RunID:   "20261126T200000Z",
		Started: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC), Finished: time.Date(2026, 11, 26, 20, 5, 0, 0, time.UTC),
		Host:     Host{CPUs: 2, GOMAXPROCS: 2, LoadAvgStart: "3.1 2.0 1.0"},
		Settings: map[string]string{"duration": "5s"},
		SSO:      SSO{PID: 42, Argon2: "m=19456,t=2,p=1,k=32", PeakRSS: 91_000_000, PeakAnon: 52_000_000, PeakFile: 39_000_000, HWM: 104_000_000},
		Ceilings: []ceiling.Result{
			{Name: "argon2id", PerSecond: 80},
			{Name: "ed25519-sign", PerSecond: 40_000},
			{Name: "ed25519-verify", PerSecond: 20_000},
		},
		Load: []Run{
			run("login", "grpc", 1, "login", 40, 30),
			run("login", "grpc", 8, "login", 70, 300), // 87.5% of 80: met
			run("register", "grpc", 8, "register", 60, 300),
			run("register", "rest", 16, "register", 70, 400), // REST does not count
			run("validate", "grpc", 8, "validate", 9_000, 4),
			run("validate", "grpc", 64, "validate", 11_000, 35), // faster, but p99 over 20 ms
			run("refresh", "grpc", 8, "refresh", 3_200, 12),
		},
		Pipeline: &pipeline.LatencyResult{Status: pipeline.StatusOK, Rate: 50, CommitRate: 49.9, Seconds: 20, Registered: 1000,
			Credit: stats.Summary{Ops: 1000, P50Ms: 40, P99Ms: 120}, Mail: stats.Summary{Ops: 1000, P50Ms: 60, P99Ms: 200}},
		Drain: &pipeline.DrainResult{Status: pipeline.StatusOK, Mode: pipeline.ModeOutage, Topic: "bench.outbox-drain", Events: 10_000, DrainSeconds: 41, EventsPerSecond: 244},
		Micro: Micro{Status: "ok", Results: []gobench.Result{{Package: "github.com/ssokit/platform/services/sso/internal/token", Name: "Issue", Procs: 2, Iterations: 100, Metrics: map[string]float64{"ns/op": 44_526, "B/op": 4872, "allocs/op": 54}}}},
	}
}

func TestEvaluate(t *testing.T) {
	r := sample()
	got := map[string]Target{}
	for _, tg := range Evaluate(r) {
		got[tg.Name] = tg
	}
	tests := []struct {
		name string
		pass *bool
		in   string // a substring of Measured
	}{
		{"login vs argon2id ceiling", pass(true), "70.0/s of 80.0/s = 88%"},
		{"register vs argon2id ceiling", pass(false), "60.0/s of 80.0/s = 75%"},
		// The 11k/s run has p99 35 ms: the best run within 20 ms is 9k/s.
		{"validate throughput (gRPC)", pass(false), "9000/s at p99 4.0 ms (c=8)"},
		{"refresh throughput (gRPC)", pass(true), "3200/s at p99 12.0 ms"},
		{"registration -> loyalty credit", pass(true), "p99 120 ms"},
		{"outbox backlog drain", pass(false), "10000 events in 41.0 s"},
		{"sso resident memory", pass(true), "peak 91.0 MB"},
	}
	for _, tt := range tests {
		tg, ok := got[tt.name]
		if !ok {
			t.Errorf("no target %q", tt.name)
			continue
		}
		if (tg.Pass == nil) != (tt.pass == nil) || (tg.Pass != nil && *tg.Pass != *tt.pass) {
			t.Errorf("%s: pass = %v, want %v (measured %q)", tt.name, deref(tg.Pass), deref(tt.pass), tg.Measured)
		}
		if !strings.Contains(tg.Measured, tt.in) {
			t.Errorf("%s: measured %q, want it to contain %q", tt.name, tg.Measured, tt.in)
		}
	}
	if n := got["validate throughput (gRPC)"].Note; !strings.Contains(n, "peak 11000/s at p99 35.0 ms (c=64)") {
		t.Errorf("validate note = %q, want the peak run named", n)
	}
	// Stored below the rate: the credit target cannot count as met.
	r.Pipeline.CommitRate = 41
	for _, tg := range Evaluate(r) {
		if tg.Name == "registration -> loyalty credit" && (tg.Pass == nil || *tg.Pass || !strings.Contains(tg.Note, "stored at 41.0/s")) {
			t.Errorf("credit target at a commit rate of 41/s: pass %v, note %q", deref(tg.Pass), tg.Note)
		}
	}
	if n := got["sso resident memory"].Note; n == "" {
		t.Error("memory target: want a note that VmHWM (104 MB) covers the process's whole life")
	}
	if m := got["sso resident memory"].Measured; !strings.Contains(m, "52.0 MB allocated, 39.0 MB mapped from files") {
		t.Errorf("memory target measured = %q, want the peak split into allocated and file-backed", m)
	}
}

// A run measured beside its own ceiling is held against that one, and the
// target takes the run with the best ratio, not the fastest.
func TestEvaluateCeilingBeside(t *testing.T) {
	r := sample()
	login8 := run("login", "grpc", 8, "login", 70, 300)
	login8.CeilingBeside = &ceiling.Result{Name: "argon2id", PerSecond: 90} // 78%
	login1 := run("login", "grpc", 1, "login", 50, 30)
	login1.CeilingBeside = &ceiling.Result{Name: "argon2id", PerSecond: 55} // 91%
	r.Load = []Run{login8, login1}

	if c, ok := r.CeilingOf(login8, "login"); !ok || c.PerSecond != 90 {
		t.Errorf("CeilingOf(beside run) = %v, %v; want the beside ceiling", c, ok)
	}
	if c, ok := r.CeilingOf(run("login", "grpc", 64, "login", 1, 1), "login"); !ok || c.PerSecond != 80 {
		t.Errorf("CeilingOf(run without one) = %v, %v; want the start ceiling", c, ok)
	}
	for _, tg := range Evaluate(r) {
		if tg.Name != "login vs argon2id ceiling" {
			continue
		}
		if tg.Pass == nil || !*tg.Pass || !strings.Contains(tg.Measured, "50.0/s of 55.0/s = 91% (c=1") {
			t.Errorf("login target: pass %v, measured %q; want c=1 held against its own 55/s", deref(tg.Pass), tg.Measured)
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| 78% of 90.0 |") {
		t.Errorf("markdown: want the c=8 run's ratio against its own ceiling (78%% of 90.0):\n%s", md.String())
	}
	var sum bytes.Buffer
	if err := WriteSummary(&sum, r, "results/x"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sum.String(), "| login | grpc | 8 | 70.0 | 78% of argon2id 90.0/s |") {
		t.Errorf("summary: want the fastest run held against its own ceiling:\n%s", sum.String())
	}
}

func TestEvaluateNotMeasured(t *testing.T) {
	r := &Report{Pipeline: &pipeline.LatencyResult{Status: pipeline.StatusUnavailable, Reason: "no transactions table"}}
	for _, tg := range Evaluate(r) {
		if tg.Pass != nil || tg.Measured != "not measured" {
			t.Errorf("%s: pass %v, measured %q; want not measured", tg.Name, deref(tg.Pass), tg.Measured)
		}
		if tg.Name == "registration -> loyalty credit" && tg.Note != "no transactions table" {
			t.Errorf("pipeline note = %q, want the reason", tg.Note)
		}
	}
}

func deref(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func TestWriteOutputs(t *testing.T) {
	r := sample()
	r.Load[1].Repeats = []float64{72, 70, 65}
	hits := 0.994
	for i := range r.Load {
		if r.Load[i].Profile == "validate" && r.Load[i].Concurrency == 64 {
			r.Load[i].TokenCacheHitRatio = &hits
		}
	}
	r.Targets = Evaluate(r)
	dir := t.TempDir()

	if err := WriteJSON(r, filepath.Join(dir, "report.json")); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.RunID != r.RunID || len(back.Load) != len(r.Load) || back.Load[1].Ops["login"].Throughput != 70 || back.Drain.Events != 10_000 {
		t.Fatalf("JSON round trip lost data: %+v", back)
	}

	var md bytes.Buffer
	if err := WriteMarkdown(&md, r, MarkdownOptions{Chart: "latency.png", Reproduce: "bench/run.sh"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# Benchmark 20261126T200000Z",
		"| login vs argon2id ceiling | >= 85% of the argon2id hashes/s (gRPC) | 70.0/s of 80.0/s = 88% (c=8, p99 300 ms) | **met** |",
		"| login | grpc | 8 | login | 70.0 | 88% |",
		"![latency percentiles against throughput](latency.png)",
		"| 10000 | - | 0.00 s | 41.00 s | 244 | 0 |",
		"| token | Issue | 44,526 | 22,459 | 4,872 | 54 |",
		"Each load run was made 3 times; the rows above are the repeat with the median throughput. Every repeat, in order: login grpc c=8: 72.0, 70.0, 65.0/s.",
		"bounds first checks: validate grpc c=64: 99.4%.",
		"bench/run.sh",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(md.String())
	}

	chart := filepath.Join(dir, "latency.png")
	if err := WriteChart(r, chart); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(chart)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 700 {
		t.Fatalf("chart is %dx%d", b.Dx(), b.Dy())
	}
}

func TestNum(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 3.14159: "3.14", 42.42: "42.4", 420.4: "420", 44526: "44,526", 1234567: "1,234,567"} {
		if got := num(in); got != want {
			t.Errorf("num(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestReplaceSection(t *testing.T) {
	doc := []byte("# Title\n\nintro\n\n" + BeginMarker + "\nold figures\n" + EndMarker + "\n\nafter\n")
	got, err := ReplaceSection(doc, "\nnew figures\n\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Title\n\nintro\n\n" + BeginMarker + "\nnew figures\n" + EndMarker + "\n\nafter\n"
	if string(got) != want {
		t.Fatalf("ReplaceSection =\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []string{"no markers", EndMarker + " " + BeginMarker, BeginMarker + " only"} {
		if _, err := ReplaceSection([]byte(bad), "x"); !errors.Is(err, ErrNoMarkers) {
			t.Errorf("ReplaceSection(%q) = %v, want ErrNoMarkers", bad, err)
		}
	}
}

func TestUpdateReadme(t *testing.T) {
	r := sample()
	r.Targets = Evaluate(r)
	path := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(path, []byte("# Bench\n"+BeginMarker+"\n"+EndMarker+"\nrest\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UpdateReadme(path, r, "results/"+r.RunID); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Run 20261126T200000Z", "[results/20261126T200000Z/report.md](results/20261126T200000Z/report.md)",
		"| login | grpc | 8 | 70.0 | 88% of argon2id 80.0/s | 75.0 | 300 |",
		"| validate | grpc | 64 | 11,000 |",
		"![latency percentiles against throughput](results/20261126T200000Z/latency.png)",
		EndMarker + "\nrest\n",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("README lacks %q:\n%s", want, data)
		}
	}
	other := filepath.Join(t.TempDir(), "OTHER.md")
	if err := os.WriteFile(other, []byte("no markers here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UpdateReadme(other, r, "x"); !errors.Is(err, ErrNoMarkers) {
		t.Fatalf("UpdateReadme without markers = %v, want ErrNoMarkers", err)
	}
}
