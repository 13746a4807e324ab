package report

import (
	"fmt"
	"strings"

	"github.com/ssokit/platform/bench/internal/load"
	"github.com/ssokit/platform/bench/internal/pipeline"
	"github.com/ssokit/platform/bench/internal/stats"
)

// The targets, for a 2-core machine running the whole stack.
const (
	LoginCeilingShare    = 0.85
	RegisterCeilingShare = 0.80
	ValidatePerSecond    = 10_000
	RefreshPerSecond     = 3_000
	FastP99Ms            = 20
	PipelineRate         = 50
	CreditP99Ms          = 150
	DrainEvents          = 10_000
	DrainSeconds         = 30
	RSSBytes             = 100_000_000 // 100 MB
)

func pass(b bool) *bool { return &b }

// Evaluate checks r against the targets.
func Evaluate(r *Report) []Target {
	return []Target{
		ceilingTarget(r, load.OpLogin, LoginCeilingShare),
		ceilingTarget(r, load.OpRegister, RegisterCeilingShare),
		rateTarget(r, load.OpValidate, ValidatePerSecond),
		rateTarget(r, load.OpRefresh, RefreshPerSecond),
		creditTarget(r),
		drainTarget(r),
		memoryTarget(r),
	}
}

// best returns the gRPC single-operation run of op with the highest
// score, and that score; runs whose score is not ok are left out.
func best(r *Report, op string, score func(Run) (v float64, ok bool)) (Run, float64, bool) {
	var b Run
	var top float64
	found := false
	for _, run := range r.Load {
		if run.Profile != op || run.Transport != "grpc" {
			continue
		}
		if v, ok := score(run); ok && (!found || v > top) {
			b, top, found = run, v, true
		}
	}
	return b, top, found
}

func ceilingTarget(r *Report, op string, share float64) Target {
	t := Target{
		Name: op + " vs argon2id ceiling",
		Goal: fmt.Sprintf(">= %.0f%% of the argon2id hashes/s (gRPC)", share*100),
	}
	// The run with the best ratio: with ceilings measured beside each run
	// it need not be the fastest one.
	ratio := func(run Run) (float64, bool) {
		c, ok := r.CeilingOf(run, op)
		return stats.Ratio(run.Ops[op].Throughput, c.Limit()), ok && c.Limit() > 0
	}
	run, rate, found := best(r, op, ratio)
	if !found {
		t.Measured = "not measured"
		return t
	}
	c, _ := r.CeilingOf(run, op)
	s := run.Ops[op]
	t.Measured = fmt.Sprintf("%.1f/s of %.1f/s = %.0f%% (c=%d, p99 %.0f ms)", s.Throughput, c.Limit(), rate*100, run.Concurrency, s.P99Ms)
	if run.CPUEfficiency > 0 {
		t.Note = fmt.Sprintf("CPU per request %.1f ms against %.1f ms per hash: %.0f%% efficiency", run.SSOCPUPerOpMs, c.CPUPerOpMs, run.CPUEfficiency*100)
	}
	t.Pass = pass(rate >= share)
	return t
}

func rateTarget(r *Report, op string, perSecond float64) Target {
	t := Target{
		Name: op + " throughput (gRPC)",
		Goal: fmt.Sprintf(">= %.0f/s with p99 < %d ms", perSecond, FastP99Ms),
	}
	fast, _, okFast := best(r, op, func(run Run) (float64, bool) {
		s := run.Ops[op]
		return s.Throughput, s.P99Ms < FastP99Ms
	})
	top, _, okTop := best(r, op, func(run Run) (float64, bool) { return run.Ops[op].Throughput, true })
	switch {
	case !okTop:
		t.Measured = "not measured"
		return t
	case okFast:
		s := fast.Ops[op]
		t.Measured = fmt.Sprintf("%.0f/s at p99 %.1f ms (c=%d)", s.Throughput, s.P99Ms, fast.Concurrency)
		t.Pass = pass(s.Throughput >= perSecond)
	default:
		t.Pass = pass(false)
	}
	if okTop && (!okFast || top.Concurrency != fast.Concurrency) {
		s := top.Ops[op]
		peak := fmt.Sprintf("peak %.0f/s at p99 %.1f ms (c=%d)", s.Throughput, s.P99Ms, top.Concurrency)
		if t.Measured == "" {
			t.Measured = "no run with p99 under the limit; " + peak
		} else {
			t.Note = peak
		}
	}
	return t
}

func creditTarget(r *Report) Target {
	t := Target{
		Name: "registration -> loyalty credit",
		Goal: fmt.Sprintf("p99 <= %d ms at %d registrations/s", CreditP99Ms, PipelineRate),
	}
	p := r.Pipeline
	if p == nil || p.Status == pipeline.StatusUnavailable {
		t.Measured = "not measured"
		if p != nil {
			t.Note = p.Reason
		}
		return t
	}
	t.Measured = fmt.Sprintf("p50 %.0f ms, p99 %.0f ms over %d users sent at %.0f/s, stored at %.1f/s", p.Credit.P50Ms, p.Credit.P99Ms, p.Credit.Ops, p.Rate, p.CommitRate)
	ok := p.Credit.P99Ms <= CreditP99Ms && p.CreditMissing == 0
	if p.Rate < PipelineRate || p.CommitRate < 0.95*PipelineRate {
		t.Note = fmt.Sprintf("users were stored at %.1f/s, below the target's %d/s", p.CommitRate, PipelineRate)
		ok = false
	}
	if p.CreditMissing > 0 {
		t.Note = fmt.Sprintf("%d credits never arrived", p.CreditMissing)
	}
	if p.Overloaded {
		t.Note = strings.TrimPrefix(t.Note+"; sso did not keep up with the registration rate", "; ")
	}
	t.Pass = pass(ok)
	return t
}

func drainTarget(r *Report) Target {
	t := Target{
		Name: "outbox backlog drain",
		Goal: fmt.Sprintf("%d events in < %d s after Kafka is back", DrainEvents, DrainSeconds),
	}
	d := r.Drain
	if d == nil || d.Status == pipeline.StatusUnavailable {
		t.Measured = "not measured"
		if d != nil {
			t.Note = d.Reason
		}
		return t
	}
	t.Measured = fmt.Sprintf("%d events in %.1f s = %.0f events/s (%s mode)", d.Events-d.Pending, d.DrainSeconds, d.EventsPerSecond, d.Mode)
	ok := d.Status == pipeline.StatusOK && d.DrainSeconds < DrainSeconds
	if d.Events < DrainEvents {
		t.Note = fmt.Sprintf("backlog of %d, smaller than the target's", d.Events)
		ok = false
	}
	if d.Mode != pipeline.ModeOutage {
		t.Note = "no Kafka outage around the backlog (inject mode)"
	}
	t.Pass = pass(ok)
	return t
}

// rssSplit describes the peak sample's anonymous and file-backed parts, if
// the kernel reported them.
func rssSplit(s SSO) string {
	if s.PeakAnon == 0 && s.PeakFile == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s allocated, %s mapped from files: the binary's code and data)", MB(s.PeakAnon), MB(s.PeakFile))
}

func memoryTarget(r *Report) Target {
	t := Target{Name: "sso resident memory", Goal: fmt.Sprintf("< %d MB at peak", RSSBytes/1_000_000)}
	if r.SSO.PeakRSS == 0 {
		t.Measured = "not measured"
		return t
	}
	t.Measured = fmt.Sprintf("peak %s sampled during load%s; VmHWM %s", MB(r.SSO.PeakRSS), rssSplit(r.SSO), MB(r.SSO.HWM))
	t.Pass = pass(r.SSO.PeakRSS < RSSBytes)
	if r.SSO.HWM >= RSSBytes && r.SSO.PeakRSS < RSSBytes {
		t.Note = "VmHWM covers the process's whole life, including what ran before this benchmark"
	}
	return t
}

// MB formats bytes as decimal megabytes.
func MB(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
