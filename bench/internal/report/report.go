// Package report holds the benchmark's results and writes them out: a JSON
// document (everything measured), a markdown summary with the targets, and
// a chart of latency percentiles against throughput.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/ssokit/platform/bench/internal/ceiling"
	"github.com/ssokit/platform/bench/internal/gobench"
	"github.com/ssokit/platform/bench/internal/load"
	"github.com/ssokit/platform/bench/internal/pipeline"
)

// Report is one benchmark run.
type Report struct {
	RunID    string                  `json:"run_id"`
	Started  time.Time               `json:"started"`
	Finished time.Time               `json:"finished"`
	Host     Host                    `json:"host"`
	Settings map[string]string       `json:"settings"`
	SSO      SSO                     `json:"sso"`
	Ceilings []ceiling.Result        `json:"ceilings"`
	Micro    Micro                   `json:"micro"`
	Load     []Run                   `json:"load"`
	Pipeline *pipeline.LatencyResult `json:"pipeline,omitempty"`
	Drain    *pipeline.DrainResult   `json:"drain,omitempty"`
	Targets  []Target                `json:"targets"`
	Notes    []string                `json:"notes,omitempty"`
}

// Host describes the machine the run shared with the stack.
type Host struct {
	CPUs         int    `json:"cpus"`
	GOMAXPROCS   int    `json:"gomaxprocs"`
	CPUModel     string `json:"cpu_model"`
	Kernel       string `json:"kernel"`
	GoVersion    string `json:"go_version"`
	MemTotal     uint64 `json:"mem_total_bytes"`
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end"`
}

// SSO describes the measured sso process.
type SSO struct {
	PID          int    `json:"pid"`
	Argon2       string `json:"argon2"`        // the parameters the ceiling used
	Argon2Source string `json:"argon2_source"` // where they came from
	// PeakRSS is the largest resident size sampled during the load runs;
	// HWM is the process's own lifetime peak (VmHWM) at the end.
	PeakRSS uint64 `json:"peak_rss_bytes"`
	HWM     uint64 `json:"hwm_bytes"`
	// PeakAnon and PeakFile split the sample of PeakRSS into allocated
	// memory and mapped file pages (the binary's code and data).
	PeakAnon uint64 `json:"peak_rss_anon_bytes"`
	PeakFile uint64 `json:"peak_rss_file_bytes"`
	// Restarted is set when sso was restarted during the run (its figures
	// then cover only part of it).
	Restarted string `json:"restarted,omitempty"`
}

// Micro is the go test -bench part.
type Micro struct {
	Status   string           `json:"status"`
	Reason   string           `json:"reason,omitempty"`
	Results  []gobench.Result `json:"results"`
	Problems []string         `json:"problems,omitempty"`
	Seconds  float64          `json:"seconds"`
}

// Run is one closed-loop load run with the sso process's usage over its
// measured window.
type Run struct {
	load.Result
	// SSOCPUSeconds is the CPU time sso used in the window, and
	// SSOCPUPerOpMs that divided by the successful operations.
	SSOCPUSeconds float64 `json:"sso_cpu_seconds"`
	SSOCPUPerOpMs float64 `json:"sso_cpu_ms_per_op"`
	// SSOCores is the CPU time over the window's wall time: how many cores
	// sso kept busy.
	SSOCores   float64 `json:"sso_cores"`
	SSOPeakRSS uint64  `json:"sso_peak_rss_bytes"`
	// LoadgenCores is the same for this process, the load generator, which
	// shares the machine.
	LoadgenCores float64 `json:"loadgen_cores"`
	// MachineCores is how many cores the whole machine kept busy over the
	// window, and CPUCores splits that by process group (sso, postgres,
	// redis, kafka, the consumers, loadgen, other: anything else running on
	// the machine, such as other people's builds).
	MachineCores float64            `json:"machine_cores"`
	CPUCores     map[string]float64 `json:"cpu_cores_by_group,omitempty"`
	// CeilingBeside is the ceiling measured again right before this run
	// (-ceiling-beside), which the run is then held against instead of the
	// one in Report.Ceilings.
	CeilingBeside *ceiling.Result `json:"ceiling_beside,omitempty"`
	// Ceiling names the ceiling a single-operation profile is held
	// against, and Ratio is its throughput over that ceiling.
	Ceiling     string  `json:"ceiling,omitempty"`
	CeilingPerS float64 `json:"ceiling_per_s,omitempty"`
	Ratio       float64 `json:"ratio,omitempty"`
	// CPUEfficiency is the ceiling's CPU time per operation over sso's:
	// the share of sso's CPU per request spent on the unavoidable work.
	// Unlike Ratio, other load on the machine hardly moves it.
	CPUEfficiency float64 `json:"cpu_efficiency,omitempty"`
	MeasureError  string  `json:"measure_error,omitempty"`
	// TokenCacheHitRatio is the share of sso's token checks in the window
	// that its verified-token cache answered without a signature check;
	// absent when the run checked no token or sso has no cache.
	TokenCacheHitRatio *float64 `json:"token_cache_hit_ratio,omitempty"`
	// SettleSeconds is how long the run waited beforehand for the
	// consumers to finish the events earlier parts left them.
	SettleSeconds float64 `json:"settle_seconds,omitempty"`
	// Repeats holds the throughput (all operations, per second) of each
	// repeat when the run was made more than once (-repeat); the figures
	// above are those of the median repeat.
	Repeats []float64 `json:"repeats_per_s,omitempty"`
}

// Target is one of the targets and whether this run met it.
type Target struct {
	Name     string `json:"name"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	// Pass is nil when the run could not measure it.
	Pass *bool  `json:"pass"`
	Note string `json:"note,omitempty"`
}

// WriteJSON writes r to path, indented.
func WriteJSON(r *Report, path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// CeilingFor names the ceiling an operation is held against: the one piece
// of work it cannot avoid.
func CeilingFor(op string) string {
	switch op {
	case load.OpRegister, load.OpLogin:
		return "argon2id"
	case load.OpValidate:
		return "ed25519-verify"
	case load.OpRefresh:
		return "ed25519-sign"
	}
	return ""
}

// FindCeiling returns the ceiling named name, if measured.
func (r *Report) FindCeiling(name string) (ceiling.Result, bool) {
	for _, c := range r.Ceilings {
		if c.Name == name {
			return c, true
		}
	}
	return ceiling.Result{}, false
}

// CeilingOf returns the ceiling run's op is held against: the one
// measured beside the run if there is one, else the one from the start.
func (r *Report) CeilingOf(run Run, op string) (ceiling.Result, bool) {
	name := CeilingFor(op)
	if b := run.CeilingBeside; b != nil && b.Name == name {
		return *b, true
	}
	return r.FindCeiling(name)
}

// TotalThroughput is the successful operations per second of all the
// run's operations together.
func (r Run) TotalThroughput() float64 {
	var t float64
	for _, s := range r.Ops {
		t += s.Throughput
	}
	return t
}
