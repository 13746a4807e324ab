package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ssokit/platform/bench/internal/load"
)

// historyHeader opens the table of earlier runs: the figures of each run's
// summary that are worth comparing across runs, one line per run.
const historyHeader = `# Earlier benchmark runs

Only the latest run is kept in full (` + "`latest/`" + `, ` + "`LATEST.md`" + `); each earlier
one is a line here, taken from its report.json when a newer run replaced it.
Throughput is the best gRPC figure per operation (closed loop; in brackets the
share of the run's argon2id ceiling, or the p99 latency). Runs on this shared
two-core host drift: compare neighbouring lines, not distant ones.

| run | started (UTC) | login/s | register/s | refresh/s (p99 ms) | validate/s (p99 ms) | credit p99 ms (users stored/s) | drain events/s | sso peak RSS MB | targets met |
|---|---|---|---|---|---|---|---|---|---|
`

// Best returns the run of op over transport with the highest throughput
// of op, or nil when op was not run that way.
func (r *Report) Best(op, transport string) *Run {
	var best *Run
	for i := range r.Load {
		run := &r.Load[i]
		if run.Profile == op && run.Transport == transport && (best == nil || run.Ops[op].Throughput > best.Ops[op].Throughput) {
			best = run
		}
	}
	return best
}

// HistoryRow is r's line in the table of earlier runs.
func HistoryRow(r *Report) string {
	cells := []string{r.RunID, r.Started.UTC().Format("2006-01-02 15:04")}
	for _, op := range []string{load.OpLogin, load.OpRegister, load.OpRefresh, load.OpValidate} {
		best := r.Best(op, "grpc")
		if best == nil {
			cells = append(cells, "-")
			continue
		}
		s := best.Ops[op]
		cell := num(s.Throughput)
		if c, ok := r.CeilingOf(*best, op); ok && CeilingFor(op) == "argon2id" && c.Limit() > 0 {
			cell += fmt.Sprintf(" (%.0f%%)", 100*s.Throughput/c.Limit())
		} else {
			cell += " (" + ms(s.P99Ms) + ")"
		}
		cells = append(cells, cell)
	}
	credit := "-"
	if p := r.Pipeline; p != nil && p.Status == "ok" {
		credit = fmt.Sprintf("%s (%.1f)", ms(p.Credit.P99Ms), p.CommitRate)
	}
	drain := "-"
	if d := r.Drain; d != nil && d.Status == "ok" {
		drain = num(d.EventsPerSecond)
	}
	rss := "-"
	if r.SSO.PeakRSS > 0 {
		rss = fmt.Sprintf("%.1f", float64(r.SSO.PeakRSS)/1e6)
	}
	met, measured := 0, 0
	for _, t := range r.Targets {
		if t.Pass != nil {
			measured++
			if *t.Pass {
				met++
			}
		}
	}
	cells = append(cells, credit, drain, rss, fmt.Sprintf("%d of %d", met, measured))
	return "| " + strings.Join(cells, " | ") + " |"
}

// AppendHistory adds the line of the run in reportJSON to the table in
// path, creating the file with its header; a run already listed is left
// as it is.
func AppendHistory(path, reportJSON string) error {
	data, err := os.ReadFile(reportJSON)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("report: %s: %w", reportJSON, err)
	}
	if r.RunID == "" {
		return fmt.Errorf("report: %s has no run_id", reportJSON)
	}
	doc, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		doc = []byte(historyHeader)
	} else if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if bytes.Contains(doc, []byte("| "+r.RunID+" |")) {
		return nil
	}
	if len(doc) > 0 && doc[len(doc)-1] != '\n' {
		doc = append(doc, '\n')
	}
	doc = append(doc, HistoryRow(&r)+"\n"...)
	return os.WriteFile(path, doc, 0o644)
}
