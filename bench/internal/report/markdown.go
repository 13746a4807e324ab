package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/ssokit/platform/bench/internal/load"
	"github.com/ssokit/platform/bench/internal/pipeline"
	"github.com/ssokit/platform/bench/internal/stats"
)

// MarkdownOptions adjust the markdown to where it is read from.
type MarkdownOptions struct {
	// Chart is the chart's path relative to the markdown file; empty
	// leaves the chart out.
	Chart string
	// Reproduce is the command that reproduces the run.
	Reproduce string
}

// WriteMarkdown writes the human summary of r.
func WriteMarkdown(w io.Writer, r *Report, opts MarkdownOptions) error {
	b := &strings.Builder{}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }

	p("# Benchmark %s\n\n", r.RunID)
	p("%s to %s UTC, %.0f s. ", r.Started.UTC().Format("2006-01-02 15:04:05"), r.Finished.UTC().Format("15:04:05"), r.Finished.Sub(r.Started).Seconds())
	p("Machine: %d CPUs (%s), %s RAM, Linux %s, %s; load average %s at the start, %s at the end. ",
		r.Host.CPUs, r.Host.CPUModel, gib(r.Host.MemTotal), r.Host.Kernel, r.Host.GoVersion, r.Host.LoadAvgStart, r.Host.LoadAvgEnd)
	p("The load generator, the whole stack (sso, loyalty-points, welcome-notifier, PostgreSQL primary and replica, Redis, Kafka, the Schema Registry, Mailpit) and the ceilings all ran on these cores.\n\n")
	for _, n := range r.Notes {
		p("> %s\n\n", n)
	}

	p("## Targets\n\n| target | goal | measured | result |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		res := "not measured"
		if t.Pass != nil {
			res = map[bool]string{true: "**met**", false: "**missed**"}[*t.Pass]
		}
		m := t.Measured
		if t.Note != "" {
			m += " (" + t.Note + ")"
		}
		p("| %s | %s | %s | %s |\n", t.Name, t.Goal, esc(m), res)
	}

	p("\n## Ceilings\n\nMeasured in the benchmark process on %d goroutines while no load ran. ", r.Host.GOMAXPROCS)
	p("*capacity* is what the cores could do doing nothing else (goroutines / CPU time per operation); *wall clock* is the rate reached, lower when other work shared the machine. Ratios are taken against the capacity.\n\n")
	p("| ceiling | parameters | CPU ms/op | capacity /s | wall clock /s | held against |\n|---|---|---|---|---|---|\n")
	for _, c := range r.Ceilings {
		against := map[string]string{"argon2id": "register, login", "ed25519-sign": "refresh (one access token signed)", "ed25519-verify": "validate (a token's first check)"}[c.Name]
		params := c.Params
		if c.Name == "argon2id" && r.SSO.Argon2Source != "" {
			params += " (" + r.SSO.Argon2Source + ")"
		}
		p("| %s | %s | %.4g | %s | %s | %s |\n", c.Name, params, c.CPUPerOpMs, num(c.Capacity), num(c.PerSecond), against)
	}

	p("\n## Load\n\nClosed loop: each of c workers sends its next request when the previous one returns. ")
	p("Latency percentiles are exact (every request recorded); throughput counts successful requests. ")
	p("sso CPU is utime+stime of the sso process over the measured window (/proc); peak RSS is the largest VmRSS sampled every 50 ms.\n\n")
	if slices.ContainsFunc(r.Load, func(run Run) bool { return run.CeilingBeside != nil }) {
		p("Register and login runs are held against an argon2id ceiling measured again right before each of them, given after *of* (capacity /s), because the host's speed drifts over minutes. ")
	}
	p("*of ceiling* is throughput over the ceiling's capacity; *CPU eff.* is the ceiling's CPU time per operation over sso's, the share of sso's CPU that went to the unavoidable work (other load on the machine hardly moves it).\n\n")
	p("| profile | transport | c | op | ops/s | of ceiling | p50 ms | p95 ms | p99 ms | max ms | errors | sso CPU ms/op | CPU eff. | sso cores | loadgen cores | sso peak RSS |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, run := range r.Load {
		ops := slices.Sorted(maps.Keys(run.Ops))
		slices.SortFunc(ops, func(a, b string) int { return slices.Index(load.Ops, a) - slices.Index(load.Ops, b) })
		for i, op := range ops {
			s := run.Ops[op]
			ratio := ""
			if c, ok := r.CeilingOf(run, op); ok && run.Profile != "mixed" {
				ratio = fmt.Sprintf("%.0f%%", stats.Ratio(s.Throughput, c.Limit())*100)
				if run.CeilingBeside != nil {
					ratio += fmt.Sprintf(" of %s", num(c.Limit()))
				}
			}
			cpu, eff, cores, lg, rss := "", "", "", "", ""
			if i == 0 {
				if run.MeasureError == "" {
					cpu = fmt.Sprintf("%.3f", run.SSOCPUPerOpMs)
					if run.CPUEfficiency > 0 {
						eff = fmt.Sprintf("%.0f%%", run.CPUEfficiency*100)
					}
					cores = fmt.Sprintf("%.2f", run.SSOCores)
					rss = MB(run.SSOPeakRSS)
				} else {
					cpu = "n/a"
				}
				lg = fmt.Sprintf("%.2f", run.LoadgenCores)
			}
			p("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				run.Profile, run.Transport, run.Concurrency, op, num(s.Throughput), ratio,
				ms(s.P50Ms), ms(s.P95Ms), ms(s.P99Ms), ms(s.MaxMs), errs(s), cpu, eff, cores, lg, rss)
		}
		if run.Profile == "mixed" {
			p("| mixed | %s | %d | **all** | %s | | | | | | | | | | | |\n", run.Transport, run.Concurrency, num(run.Throughput))
		}
	}
	repeats(p, r.Load)
	tokenCache(p, r.Load)
	p("\nWhere the CPU went in each window, in cores busy (of %d): the whole machine from /proc/stat, split by process from /proc/<pid>/stat. ", r.Host.CPUs)
	p("*kafka* includes the Schema Registry; *other* is every other running process (Mailpit, and on a shared machine other people's builds and tests); *gone* is the rest of the machine's busy time: processes that exited within the window (short-lived compilers, test binaries) and kernel work.\n\n")
	p("| profile | transport | c | machine | sso | postgres | redis | kafka | loyalty-points | welcome-notifier | loadgen | other | gone |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, run := range r.Load {
		g := run.CPUCores
		var sum float64
		for _, v := range g {
			sum += v
		}
		p("| %s | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", run.Profile, run.Transport, run.Concurrency,
			run.MachineCores, g["sso"], g["postgres"], g["redis"], g["kafka"]+g["apicurio"], g["loyalty-points"], g["welcome-notifier"], g["loadgen"], g["other"]+g["mailpit"],
			max(run.MachineCores-sum, 0))
	}
	if opts.Chart != "" {
		p("\n![latency percentiles against throughput](%s)\n", opts.Chart)
	}
	p("\nsso memory: peak sampled RSS %s during the load runs%s; VmHWM (lifetime peak) %s.", MB(r.SSO.PeakRSS), rssSplit(r.SSO), MB(r.SSO.HWM))
	if r.SSO.Restarted != "" {
		p(" %s", r.SSO.Restarted)
	}
	p("\n")

	p("\n## Event pipeline\n\n")
	if lp := r.Pipeline; lp == nil {
		p("Not run.\n")
	} else {
		p("Open loop: %.0f registrations/s for %.0f s over gRPC (users stored at %.1f/s); latency from users.created_at (sso database) to the WELCOME_BONUS transactions.created_at (loyalty database) and to Mailpit's Created time of the welcome mail.\n\n", lp.Rate, lp.Seconds, lp.CommitRate)
		p("Status: **%s**", lp.Status)
		if lp.Reason != "" {
			p(": %s", lp.Reason)
		}
		p("\n\n")
		if lp.Overloaded {
			p("sso did not keep up with %.0f registrations/s (users stored at %.1f/s; median response %s ms from the scheduled start): the latencies below were measured at the lower rate, on a saturated machine.\n\n", lp.Rate, lp.CommitRate, num(lp.Register.P50Ms))
		}
		if lp.Status != pipeline.StatusUnavailable || lp.Registered > 0 {
			p("| measure | n | p50 ms | p95 ms | p99 ms | max ms | missing |\n|---|---|---|---|---|---|---|\n")
			p("| register response (from its scheduled start) | %d | %s | %s | %s | %s | %s |\n", lp.Register.Ops, ms(lp.Register.P50Ms), ms(lp.Register.P95Ms), ms(lp.Register.P99Ms), ms(lp.Register.MaxMs), errs(lp.Register))
			p("| commit -> delivery recorded in the outbox (the relay's batched status update; may trail the consumers) | %d | %s | %s | %s | %s | %d |\n", lp.Publish.Ops, ms(lp.Publish.P50Ms), ms(lp.Publish.P95Ms), ms(lp.Publish.P99Ms), ms(lp.Publish.MaxMs), lp.PublishMissing)
			p("| commit -> loyalty credit | %d | %s | %s | %s | %s | %d |\n", lp.Credit.Ops, ms(lp.Credit.P50Ms), ms(lp.Credit.P95Ms), ms(lp.Credit.P99Ms), ms(lp.Credit.MaxMs), lp.CreditMissing)
			if lp.MailUnavailable == "" {
				p("| commit -> mail accepted by SMTP | %d | %s | %s | %s | %s | %d |\n", lp.Mail.Ops, ms(lp.Mail.P50Ms), ms(lp.Mail.P95Ms), ms(lp.Mail.P99Ms), ms(lp.Mail.MaxMs), lp.MailMissing)
			} else {
				p("| commit -> mail accepted by SMTP | not measured: %s | | | | | |\n", esc(lp.MailUnavailable))
			}
		}
	}

	p("\n## Outbox backlog drain\n\n")
	if d := r.Drain; d == nil {
		p("Not run.\n")
	} else {
		switch d.Mode {
		case pipeline.ModeOutage:
			p("Kafka stopped; %d UserRegistered rows written to sso's outbox as failed publishes due for retry (events of made-up users, to topic `%s`, which no consumer reads); Kafka started. Time from the broker accepting connections to the last row marked delivered.\n\n", d.Events, d.Topic)
		default:
			p("%d UserRegistered rows written to sso's outbox as failed publishes due for retry, Kafka up (events of made-up users, to topic `%s`, which no consumer reads). Time from the write to the last row marked delivered.\n\n", d.Events, d.Topic)
		}
		p("Status: **%s**", d.Status)
		if d.Reason != "" {
			p(": %s", d.Reason)
		}
		p("\n\n")
		if d.Status != pipeline.StatusUnavailable {
			p("| events | Kafka down | first delivered | drained in | events/s | left |\n|---|---|---|---|---|---|\n")
			down := "-"
			if d.KafkaDownSeconds > 0 {
				down = fmt.Sprintf("%.1f s", d.KafkaDownSeconds)
			}
			p("| %d | %s | %.2f s | %.2f s | %s | %d |\n", d.Events, down, d.FirstSeconds, d.DrainSeconds, num(d.EventsPerSecond), d.Pending)
		}
	}

	p("\n## Micro benchmarks\n\n`go test -run '^$' -bench . -benchmem` in services/sso (GOWORK=off, one package at a time), %.0f s. Status: **%s**", r.Micro.Seconds, r.Micro.Status)
	if r.Micro.Reason != "" {
		p(": %s", esc(r.Micro.Reason))
	}
	p("\n\n")
	if len(r.Micro.Results) > 0 {
		p("| package | benchmark | ns/op | ops/s (one goroutine) | B/op | allocs/op | other |\n|---|---|---|---|---|---|---|\n")
		for _, m := range r.Micro.Results {
			var other []string
			for _, unit := range slices.Sorted(maps.Keys(m.Metrics)) {
				switch unit {
				case "ns/op", "B/op", "allocs/op":
				default:
					other = append(other, fmt.Sprintf("%s %s", num(m.Metrics[unit]), unit))
				}
			}
			p("| %s | %s | %s | %s | %s | %s | %s |\n", shortPkg(m.Package), m.Name, num(m.NsPerOp()), num(m.PerSecond()),
				whole(m.Metrics["B/op"]), whole(m.Metrics["allocs/op"]), strings.Join(other, ", "))
		}
	}
	for _, pr := range r.Micro.Problems {
		p("\n- %s", esc(pr))
	}
	if len(r.Micro.Problems) > 0 {
		p("\n")
	}

	if opts.Reproduce != "" {
		p("\n## Reproduce\n\n```sh\n%s\n```\n", opts.Reproduce)
	}
	p("\nEvery setting and figure is in report.json.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func shortPkg(p string) string {
	if i := strings.Index(p, "/internal/"); i >= 0 {
		return p[i+len("/internal/"):]
	}
	return p
}

func errs(s stats.Summary) string {
	if s.Errors == 0 {
		return "0"
	}
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(s.ErrorsByCode)) {
		parts = append(parts, fmt.Sprintf("%s: %d", code, s.ErrorsByCode[code]))
	}
	return strings.Join(parts, ", ")
}

// num formats a figure with three significant digits or thousands
// separators, whichever reads better.
func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1000:
		s := fmt.Sprintf("%.0f", v)
		var out []byte
		for i, c := range []byte(s) {
			if i > 0 && (len(s)-i)%3 == 0 {
				out = append(out, ',')
			}
			out = append(out, c)
		}
		return string(out)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// whole formats a count.
func whole(v float64) string {
	if v >= 1000 {
		return num(v)
	}
	return fmt.Sprintf("%.0f", v)
}

func ms(v float64) string {
	if v == 0 {
		return "-"
	}
	return num(v)
}

func gib(b uint64) string { return fmt.Sprintf("%.0f GiB", float64(b)/(1<<30)) }

func esc(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// tokenCache says how many token checks sso's verified-token cache answered
// in each run that checked tokens: a hit skips the Ed25519 verification, so
// the verify ceiling bounds only a token's first check.
func tokenCache(p func(string, ...any), runs []Run) {
	var lines []string
	for _, run := range runs {
		if run.TokenCacheHitRatio == nil {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s %s c=%d: %.1f%%", run.Profile, run.Transport, run.Concurrency, *run.TokenCacheHitRatio*100))
	}
	if len(lines) == 0 {
		return
	}
	p("\nsso's verified-token cache (SSO_TOKEN_CACHE_SIZE) answered these shares of the token checks without a signature check, as it does for a resource server checking one bearer token on each request; the workers reuse the pool's tokens, so validate can pass the ed25519-verify ceiling, which bounds first checks: %s.\n", strings.Join(lines, "; "))
}

// repeats lists, for runs made more than once, every repeat's throughput;
// the table shows the median one.
func repeats(p func(string, ...any), runs []Run) {
	var lines []string
	n := 0
	for _, run := range runs {
		if len(run.Repeats) < 2 {
			continue
		}
		n = len(run.Repeats)
		rates := make([]string, len(run.Repeats))
		for i, v := range run.Repeats {
			rates[i] = num(v)
		}
		lines = append(lines, fmt.Sprintf("%s %s c=%d: %s/s", run.Profile, run.Transport, run.Concurrency, strings.Join(rates, ", ")))
	}
	if len(lines) == 0 {
		return
	}
	p("\nEach load run was made %d times; the rows above are the repeat with the median throughput. Every repeat, in order: %s.\n", n, strings.Join(lines, "; "))
}
