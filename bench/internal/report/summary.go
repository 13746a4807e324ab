package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ssokit/platform/bench/internal/load"
)

// Markers delimit the section of a README that UpdateReadme rewrites.
const (
	BeginMarker = "<!-- bench:latest:begin -->"
	EndMarker   = "<!-- bench:latest:end -->"
)

// ErrNoMarkers means a file has no section for UpdateReadme to rewrite.
var ErrNoMarkers = errors.New("no bench:latest markers")

// WriteSummary writes the short form of r for a README: the targets and
// each operation's best figures. dir is the run's results folder relative
// to the README, for the links.
func WriteSummary(w io.Writer, r *Report, dir string) error {
	b := &strings.Builder{}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("Run %s (%s UTC, %d CPUs, load average %s at the start). Full report: [%s/report.md](%s/report.md).\n\n",
		r.RunID, r.Started.UTC().Format("2006-01-02 15:04"), r.Host.CPUs, r.Host.LoadAvgStart, dir, dir)
	for _, n := range r.Notes {
		p("> %s\n\n", n)
	}
	p("| target | goal | measured | result |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		res := "not measured"
		if t.Pass != nil {
			res = map[bool]string{true: "met", false: "**missed**"}[*t.Pass]
		}
		m := t.Measured
		if t.Note != "" {
			m += " (" + t.Note + ")"
		}
		p("| %s | %s | %s | %s |\n", t.Name, t.Goal, esc(m), res)
	}
	p("\nBest throughput per operation and transport (closed loop; the concurrency level with the most successful requests/s):\n\n")
	p("| op | transport | c | ops/s | of ceiling | p50 ms | p99 ms | sso CPU ms/op |\n|---|---|---|---|---|---|---|---|\n")
	for _, op := range load.Ops {
		for _, tr := range []string{"grpc", "rest"} {
			best := r.Best(op, tr)
			if best == nil {
				continue
			}
			s := best.Ops[op]
			ratio := ""
			if c, ok := r.CeilingOf(*best, op); ok {
				ratio = fmt.Sprintf("%.0f%% of %s %s/s", 100*s.Throughput/c.Limit(), c.Name, num(c.Limit()))
			}
			p("| %s | %s | %d | %s | %s | %s | %s | %.3f |\n", op, tr, best.Concurrency, num(s.Throughput), ratio, ms(s.P50Ms), ms(s.P99Ms), best.SSOCPUPerOpMs)
		}
	}
	p("\n![latency percentiles against throughput](%s/latency.png)\n", dir)
	_, err := io.WriteString(w, b.String())
	return err
}

// ReplaceSection returns doc with the text between BeginMarker and
// EndMarker replaced by section.
func ReplaceSection(doc []byte, section string) ([]byte, error) {
	begin := bytes.Index(doc, []byte(BeginMarker))
	end := bytes.Index(doc, []byte(EndMarker))
	if begin < 0 || end < begin {
		return nil, ErrNoMarkers
	}
	var out bytes.Buffer
	out.Write(doc[:begin+len(BeginMarker)])
	out.WriteString("\n")
	out.WriteString(strings.TrimSpace(section))
	out.WriteString("\n")
	out.Write(doc[end:])
	return out.Bytes(), nil
}

// UpdateReadme rewrites the marked section of the file at path with the
// summary of r; dir is the run's results folder relative to the file. A
// file without the markers is left alone and ErrNoMarkers returned.
func UpdateReadme(path string, r *Report, dir string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var s strings.Builder
	if err := WriteSummary(&s, r, dir); err != nil {
		return err
	}
	out, err := ReplaceSection(doc, s.String())
	if err != nil {
		return fmt.Errorf("report: %s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}
