package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/bench/internal/load"
	"github.com/ssokit/platform/bench/internal/report"
	"github.com/ssokit/platform/bench/internal/stats"
)

func TestParseFlags(t *testing.T) {
	root := t.TempDir()
	c, err := parseFlags([]string{"-root", root, "-parts", "load,ceilings", "-concurrency", "2, 4", "-duration", "7s", "-note", "a", "-note", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Parts["load"] || !c.Parts["ceilings"] || c.Parts["micro"] || len(c.Parts) != 2 {
		t.Errorf("Parts = %v", c.Parts)
	}
	if len(c.GRPCLevels) != 2 || c.GRPCLevels[0] != 2 || c.GRPCLevels[1] != 4 || c.Duration != 7*time.Second {
		t.Errorf("levels %v, duration %v", c.GRPCLevels, c.Duration)
	}
	if c.Out != filepath.Join(root, "bench", "results") || c.SSOPIDFile != filepath.Join(root, ".local", "run", "sso.pid") {
		t.Errorf("Out %q, SSOPIDFile %q: want them under -root", c.Out, c.SSOPIDFile)
	}
	if strings.Join(c.Notes, "|") != "a|b" {
		t.Errorf("Notes = %q", c.Notes)
	}
	if _, ok := c.settings["sso-db"]; ok {
		t.Error("settings carry the database DSN (a credential)")
	}
	if c.settings["duration"] != "7s" {
		t.Errorf("settings[duration] = %q", c.settings["duration"])
	}

	for _, bad := range [][]string{
		{"-root", root, "-parts", "load,ice"},
		{"-root", root, "-transports", "grpc,soap"},
		{"-root", root, "-concurrency", "0"},
		{"-root", root, "-drain-mode", "chaos"},
		{"-root", root, "-repeat", "0"},
		{"-root", root, "stray"},
	} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) succeeded", bad)
		}
	}
}

func TestReproduceNamesOnlyChangedFlags(t *testing.T) {
	c, err := parseFlags([]string{"-duration", "30s", "-note", "x", "-mix", "validate=1,login=1"})
	if err != nil {
		t.Fatalf("parseFlags: %v (the test runs inside the repository, under its go.work)", err)
	}
	got := reproduce(c)
	want := "go tool task up\nbench/run.sh -duration=30s -mix=validate=1,login=1"
	if got != want {
		t.Fatalf("reproduce =\n%s\nwant\n%s", got, want)
	}
	c, err = parseFlags([]string{"-pprof", "http://127.0.0.1:6060/debug/pprof"})
	if err != nil {
		t.Fatal(err)
	}
	want = "go tool task up\nSSO_PPROF_ADDR=127.0.0.1:6060 deploy/local/services up sso\nbench/run.sh -pprof=http://127.0.0.1:6060/debug/pprof"
	if got := reproduce(c); got != want {
		t.Fatalf("reproduce with -pprof =\n%s\nwant\n%s", got, want)
	}
	if q := shellQuote("a b'c"); q != `'a b'\''c'` {
		t.Fatalf("shellQuote = %s", q)
	}
}

func TestFetchProfile(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/pprof/profile" || r.URL.Query().Get("seconds") != "3" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("profile-bytes"))
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "cpu.pb.gz")
	if err := fetchProfile(srv.Client(), srv.URL+"/debug/pprof", 3500*time.Millisecond, path); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "profile-bytes" {
		t.Fatalf("profile file = %q, %v", b, err)
	}
	if err := fetchProfile(srv.Client(), srv.URL+"/nope", time.Second, path); err == nil {
		t.Fatal("fetchProfile from a 404 succeeded")
	}
}

func TestLoadAbove(t *testing.T) {
	if !loadAbove("2.63 3.38 3.55", 1) || loadAbove("0.40 1.2 3", 1) || loadAbove("?", 1) {
		t.Fatal("loadAbove misreads /proc/loadavg")
	}
}

// TestMedianRun checks that of several repeats the one with the median
// throughput is kept whole, with every repeat's rate recorded in order.
func TestMedianRun(t *testing.T) {
	rate := func(per float64, p99 float64) report.Run {
		return report.Run{Result: load.Result{Profile: "login", Ops: map[string]stats.Summary{"login": {Throughput: per, P99Ms: p99}}}}
	}
	one := rate(80, 100)
	if got := medianRun([]report.Run{one}); got.Repeats != nil || got.Ops["login"].Throughput != 80 {
		t.Errorf("one run: %+v, want it unchanged", got)
	}
	got := medianRun([]report.Run{rate(90, 1), rate(70, 2), rate(85, 3)})
	if got.Ops["login"].Throughput != 85 || got.Ops["login"].P99Ms != 3 {
		t.Errorf("median of 90, 70, 85: kept %+v, want the 85/s run whole", got.Ops["login"])
	}
	if want := []float64{90, 70, 85}; !slices.Equal(got.Repeats, want) {
		t.Errorf("Repeats = %v, want %v", got.Repeats, want)
	}
	if got := medianRun([]report.Run{rate(90, 1), rate(70, 2)}); got.Ops["login"].Throughput != 70 {
		t.Errorf("median of two: kept %v/s, want the lower", got.Ops["login"].Throughput)
	}
}
