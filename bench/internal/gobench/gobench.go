// Package gobench runs Go micro benchmarks (go test -bench) and parses
// their standard output format
// (https://go.googlesource.com/proposal/+/master/design/14313-benchmark-format.md)
// into figures the report can show.
package gobench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Result is one benchmark line: a name, the iteration count, and its
// value/unit pairs (ns/op, B/op, allocs/op, and custom metrics such as
// rows/op).
type Result struct {
	Package    string             `json:"package"`
	Name       string             `json:"name"`  // without the Benchmark prefix and -GOMAXPROCS suffix
	Procs      int                `json:"procs"` // the -N suffix; 1 when absent
	Iterations int64              `json:"iterations"`
	Metrics    map[string]float64 `json:"metrics"`
}

// NsPerOp returns the ns/op metric (0 when absent).
func (r Result) NsPerOp() float64 { return r.Metrics["ns/op"] }

// PerSecond returns operations per second on one goroutine, 1e9/ns/op.
func (r Result) PerSecond() float64 {
	if ns := r.NsPerOp(); ns > 0 {
		return 1e9 / ns
	}
	return 0
}

// Parse reads go test -bench output. Lines other than results (pkg:,
// goos:, PASS, log output) are skipped, apart from "pkg:", which sets the
// package of the results that follow, and "--- FAIL"/"--- SKIP" lines,
// which are returned as problems. A result whose name and figures were
// split by log output printed in between is joined back.
func Parse(r io.Reader) (results []Result, problems []string, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	var pkg, pending string
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimSpace(strings.TrimPrefix(line, "pkg: "))
			pending = ""
			continue
		case strings.HasPrefix(trimmed, "--- FAIL: "), strings.HasPrefix(trimmed, "--- SKIP: "):
			problems = append(problems, pkgPrefix(pkg)+trimmed)
			pending = ""
			continue
		case strings.HasPrefix(line, "FAIL"), strings.HasPrefix(line, "ok  "):
			pending = ""
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		name := ""
		if strings.HasPrefix(fields[0], "Benchmark") {
			name, fields = fields[0], fields[1:]
			if len(fields) == 0 {
				// The figures follow after the benchmark's own output.
				pending = name
				continue
			}
		} else if pending != "" {
			name = pending
		} else {
			continue
		}
		res, ok := parseFigures(fields)
		if !ok {
			if strings.HasPrefix(line, "Benchmark") {
				pending = name
			}
			continue
		}
		pending = ""
		res.Package = pkg
		res.Name, res.Procs = splitName(name)
		results = append(results, res)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("gobench: read output: %w", err)
	}
	return results, problems, nil
}

func pkgPrefix(pkg string) string {
	if pkg == "" {
		return ""
	}
	return pkg + ": "
}

// parseFigures parses "<iterations> <value> <unit> [<value> <unit>...]".
func parseFigures(f []string) (Result, bool) {
	if len(f) < 3 || len(f)%2 == 0 {
		return Result{}, false
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n <= 0 {
		return Result{}, false
	}
	res := Result{Iterations: n, Metrics: make(map[string]float64, len(f)/2)}
	for i := 1; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Result{}, false
		}
		res.Metrics[f[i+1]] = v
	}
	return res, true
}

// splitName turns "BenchmarkClaim/batch=10-2" into ("Claim/batch=10", 2).
func splitName(full string) (string, int) {
	name := strings.TrimPrefix(full, "Benchmark")
	procs := 1
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if n, err := strconv.Atoi(name[i+1:]); err == nil && n > 0 {
			name, procs = name[:i], n
		}
	}
	return name, procs
}

// Options say what Run runs.
type Options struct {
	Dir       string        // the module directory go test runs in
	Packages  []string      // package patterns, relative to Dir
	BenchTime time.Duration // -benchtime; 0 means go test's default (1s)
	Timeout   time.Duration // -timeout for the whole run
	Raw       io.Writer     // receives the raw output as it comes, if not nil
}

// Run runs the benchmarks of opts.Packages with GOWORK=off (each module is
// benchmarked as it builds alone), one package at a time (-p 1, so test
// binaries never compete for the cores), and parses the output. A package
// that fails (its infrastructure missing, a benchmark failing) does not
// lose the others' results: its failure is among the problems and err
// says go test exited non-zero.
func Run(ctx context.Context, opts Options) (results []Result, problems []string, err error) {
	args := []string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1", "-p", "1"}
	if opts.BenchTime > 0 {
		args = append(args, "-benchtime", opts.BenchTime.String())
	}
	if opts.Timeout > 0 {
		args = append(args, "-timeout", opts.Timeout.String())
	}
	args = append(args, opts.Packages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = opts.Dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var out bytes.Buffer
	var w io.Writer = &out
	if opts.Raw != nil {
		w = io.MultiWriter(&out, opts.Raw)
	}
	cmd.Stdout, cmd.Stderr = w, w
	runErr := cmd.Run()
	results, problems, err = Parse(bytes.NewReader(out.Bytes()))
	if err != nil {
		return nil, nil, err
	}
	if runErr != nil {
		return results, problems, fmt.Errorf("gobench: go %s: %w", strings.Join(args, " "), runErr)
	}
	return results, problems, nil
}
