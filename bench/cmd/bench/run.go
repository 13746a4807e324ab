package main

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "github.com/lib/pq"

	"github.com/ssokit/platform/bench/internal/ceiling"
	"github.com/ssokit/platform/bench/internal/gobench"
	"github.com/ssokit/platform/bench/internal/load"
	"github.com/ssokit/platform/bench/internal/pipeline"
	"github.com/ssokit/platform/bench/internal/procfs"
	"github.com/ssokit/platform/bench/internal/report"
)

// password is what every benchmark user registers with: long enough, not
// a common password, not the e-mail.
const password = "bench: correct horse battery staple 7"

func run(ctx context.Context, cfg config, log *slog.Logger) error {
	started := time.Now()
	runID := started.UTC().Format("20060102T150405Z")
	dir := filepath.Join(cfg.Out, runID)
	rep := &report.Report{
		RunID: runID, Started: started, Host: hostInfo(), Settings: cfg.settings,
		Notes: slices.Clone(cfg.Notes), Micro: report.Micro{Status: "not run"},
	}
	if la := rep.Host.LoadAvgStart; loadAbove(la, 1) {
		rep.Notes = append(rep.Notes, fmt.Sprintf("The machine was busy before the run started (load average %s): other work shared the cores, so the figures are noisy.", la))
	}
	hc := &http.Client{Timeout: 10 * time.Second}

	// The stack must be up: sso ready, its process found, its database
	// reachable.
	if err := ready(ctx, hc, cfg.SSOHTTP); err != nil {
		return fmt.Errorf("sso is not ready (%v): start the stack with `go tool task up`, check it with `go tool task status`", err)
	}
	proc, err := ssoProcess(cfg)
	if err != nil {
		return fmt.Errorf("sso process: %w (pass -sso-pid if sso was not started by deploy/local/services)", err)
	}
	rep.SSO.PID = proc.PID
	ssoDB, err := openDB(ctx, cfg.SSODB)
	if err != nil {
		return fmt.Errorf("sso database: %w", err)
	}
	defer ssoDB.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	log.Info("benchmark started", slog.String("results", dir), slog.Int("sso_pid", proc.PID))

	grpcClient, err := load.NewGRPC(cfg.SSOGRPC, cfg.GRPCConns)
	if err != nil {
		return err
	}
	defer grpcClient.Close()
	pool := load.NewPool("bench-"+strings.ToLower(runID), "example.com", password)

	// One registration tells the argon2id parameters sso hashes with.
	argon, source, err := argonParams(ctx, cfg, grpcClient, pool, ssoDB)
	if err != nil {
		return err
	}
	rep.SSO.Argon2, rep.SSO.Argon2Source = argon.String(), source

	if cfg.Parts["micro"] {
		rep.Micro = micro(ctx, cfg, dir, log)
	}
	if cfg.Parts["ceilings"] {
		log.Info("measuring ceilings", slog.String("argon2id", argon.String()), slog.Duration("each", cfg.CeilingTime))
		w := runtime.GOMAXPROCS(0)
		rep.Ceilings = []ceiling.Result{
			ceiling.Argon2id(ctx, argon, cfg.CeilingTime, w),
			ceiling.Ed25519Sign(ctx, cfg.CeilingTime, w),
			ceiling.Ed25519Verify(ctx, cfg.CeilingTime, w),
		}
		for _, c := range rep.Ceilings {
			log.Info("ceiling", slog.String("name", c.Name), slog.Float64("per_s", round(c.PerSecond)), slog.Float64("capacity_per_s", round(c.Capacity)), slog.Float64("cpu_ms_per_op", c.CPUPerOpMs))
		}
	}
	if cfg.Parts["pipeline"] && ctx.Err() == nil {
		lp := pipelineLatency(ctx, cfg, hc, grpcClient, pool, ssoDB, log)
		rep.Pipeline = &lp
	}
	if cfg.Parts["load"] && ctx.Err() == nil {
		if err := loadRuns(ctx, cfg, dir, rep, argon, grpcClient, pool, proc, log); err != nil {
			return err
		}
	}
	// The drain goes last: it restarts Kafka, whose JVM then spends a
	// while recompiling, and load runs measured after it paid for that (the
	// broker took 0.23 cores during register instead of 0.07).
	if cfg.Parts["drain"] && ctx.Err() == nil {
		d := drain(ctx, cfg, dir, ssoDB, log)
		rep.Drain = &d
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}

	// The lifetime peak, read at the end.
	if p, err := ssoProcess(cfg); err == nil {
		if m, err := p.Memory(); err == nil {
			rep.SSO.HWM = m.HWM
		}
		if p.PID != proc.PID && rep.SSO.Restarted == "" {
			rep.SSO.Restarted = fmt.Sprintf("sso was restarted during the run (pid %d, now %d).", proc.PID, p.PID)
		}
	}
	rep.Finished = time.Now()
	rep.Host.LoadAvgEnd = loadavg()
	rep.Targets = report.Evaluate(rep)
	return writeReport(cfg, dir, rep, log)
}

// ready checks base/readyz answers 200.
func ready(ctx context.Context, hc *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("%s/readyz answered %d: %s", base, resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}

func ssoProcess(cfg config) (*procfs.Process, error) {
	pid := cfg.SSOPID
	if pid == 0 {
		var err error
		if pid, err = procfs.ReadPIDFile(cfg.SSOPIDFile); err != nil {
			return nil, err
		}
	}
	return procfs.Open(pid)
}

func openDB(ctx context.Context, dsn string) (*sql.DB, error) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// argonParams returns the argon2id parameters for the ceiling: the -argon2
// flag, or those of a hash the running sso stores for a fresh user.
func argonParams(ctx context.Context, cfg config, c load.Client, pool *load.Pool, db *sql.DB) (ceiling.Argon2Params, string, error) {
	if cfg.Argon2 != "" {
		p, err := ceiling.ParsePHC("$argon2id$v=19$" + cfg.Argon2 + "$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
		if err != nil {
			return p, "", fmt.Errorf("-argon2 %q: %w", cfg.Argon2, err)
		}
		return p, "from -argon2", nil
	}
	email := pool.NewEmail()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := c.Register(rctx, email, pool.Password, "Bench Probe"); err != nil {
		return ceiling.Argon2Params{}, "", fmt.Errorf("register a probe user over gRPC at %s: %w", cfg.SSOGRPC, err)
	}
	var hash string
	if err := db.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE email = $1", email).Scan(&hash); err != nil {
		return ceiling.Argon2Params{}, "", fmt.Errorf("read the probe user's hash: %w", err)
	}
	p, err := ceiling.ParsePHC(hash)
	if err != nil {
		return p, "", fmt.Errorf("the probe user's hash: %w", err)
	}
	return p, "read from a hash sso stored", nil
}

func micro(ctx context.Context, cfg config, dir string, log *slog.Logger) report.Micro {
	log.Info("running micro benchmarks", slog.Any("packages", cfg.MicroPackages))
	raw, err := os.Create(filepath.Join(dir, "micro.txt"))
	if err != nil {
		return report.Micro{Status: "failed", Reason: err.Error()}
	}
	defer raw.Close()
	start := time.Now()
	results, problems, err := gobench.Run(ctx, gobench.Options{
		Dir: filepath.Join(cfg.Root, "services", "sso"), Packages: cfg.MicroPackages,
		BenchTime: cfg.MicroBenchTime, Timeout: 15 * time.Minute, Raw: raw,
	})
	m := report.Micro{Status: "ok", Results: results, Problems: problems, Seconds: time.Since(start).Seconds()}
	if err != nil {
		m.Status, m.Reason = "failed", err.Error()+" (see micro.txt)"
		if len(results) > 0 {
			m.Status = "partial"
		}
	}
	log.Info("micro benchmarks done", slog.Int("results", len(results)), slog.String("status", m.Status), slog.Float64("seconds", m.Seconds))
	return m
}

func pipelineLatency(ctx context.Context, cfg config, hc *http.Client, c load.Client, pool *load.Pool, ssoDB *sql.DB, log *slog.Logger) pipeline.LatencyResult {
	log.Info("measuring the event pipeline", slog.Float64("rate", cfg.PipelineRate), slog.Duration("for", cfg.PipelineDuration))
	loyaltyDB, err := openDB(ctx, cfg.LoyaltyDB)
	if err != nil {
		return pipeline.LatencyResult{Status: pipeline.StatusUnavailable, Reason: "loyalty database: " + err.Error(), Rate: cfg.PipelineRate}
	}
	defer loyaltyDB.Close()
	res := pipeline.Latency(ctx, pipeline.LatencyConfig{
		Client: c, Pool: pool, Rate: cfg.PipelineRate, Duration: cfg.PipelineDuration, Settle: cfg.PipelineSettle,
		SSODB: ssoDB, LoyaltyDB: loyaltyDB, MailpitURL: cfg.Mailpit, HTTP: hc, Log: log,
		ConsumersReady: func(ctx context.Context) error {
			return errors.Join(ready(ctx, hc, cfg.LoyaltyHTTP), ready(ctx, hc, cfg.NotifierHTTP))
		},
	})
	log.Info("pipeline", slog.String("status", res.Status), slog.String("reason", res.Reason),
		slog.Float64("credit_p99_ms", res.Credit.P99Ms), slog.Float64("mail_p99_ms", res.Mail.P99Ms))
	return res
}

func drain(ctx context.Context, cfg config, dir string, ssoDB *sql.DB, log *slog.Logger) pipeline.DrainResult {
	log.Info("measuring the outbox backlog drain", slog.Int("events", cfg.DrainEvents), slog.String("mode", cfg.DrainMode))
	stackLog := filepath.Join(dir, "drain-stack.log")
	stack := func(args ...string) func(context.Context) error {
		return func(ctx context.Context) error {
			f, err := os.OpenFile(stackLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return err
			}
			defer f.Close()
			cmd := exec.CommandContext(ctx, filepath.Join(cfg.Root, "deploy", "local", "stack"), args...)
			cmd.Dir, cmd.Stdout, cmd.Stderr = cfg.Root, f, f
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("deploy/local/stack %s: %w (see %s)", strings.Join(args, " "), err, stackLog)
			}
			return nil
		}
	}
	res := pipeline.Drain(ctx, pipeline.DrainConfig{
		SSODB: ssoDB, Events: cfg.DrainEvents, Topic: cfg.DrainTopic, Mode: cfg.DrainMode,
		StopKafka: stack("down", "kafka"), StartKafka: stack("up", "kafka"),
		KafkaAddr: cfg.Kafka, SchemaRegistryURL: cfg.SchemaRegistry, Timeout: cfg.DrainTimeout, Log: log,
	})
	log.Info("drain", slog.String("status", res.Status), slog.String("reason", res.Reason),
		slog.Float64("seconds", res.DrainSeconds), slog.Float64("events_per_s", res.EventsPerSecond))
	return res
}

// plan is one load run to make.
type plan struct {
	client load.Client
	load.Plan
}

func loadRuns(ctx context.Context, cfg config, dir string, rep *report.Report, argon ceiling.Argon2Params, grpcClient *load.GRPC, pool *load.Pool, proc *procfs.Process, log *slog.Logger) error {
	mix, err := load.ParseMix(cfg.Mix)
	if err != nil {
		return err
	}
	maxC := 1
	var rest *load.REST
	if cfg.Transports["rest"] {
		rest = load.NewREST(strings.TrimRight(cfg.SSOHTTP, "/"), 256)
		defer rest.Close()
	}
	var plans []plan
	for _, tr := range []string{"grpc", "rest"} {
		if !cfg.Transports[tr] {
			continue
		}
		var c load.Client = grpcClient
		levels := cfg.GRPCLevels
		if tr == "rest" {
			c, levels = rest, cfg.RESTLevels
		}
		for _, op := range load.Ops {
			if !cfg.Profiles[op] {
				continue
			}
			for _, n := range levels {
				plans = append(plans, plan{c, load.Plan{Profile: op, Mix: []load.Weighted{{Op: op, Weight: 1}}, Concurrency: n}})
				maxC = max(maxC, n)
			}
		}
		if cfg.Profiles["mixed"] {
			plans = append(plans, plan{c, load.Plan{Profile: "mixed", Mix: mix, Concurrency: cfg.MixedConcurrency}})
			maxC = max(maxC, cfg.MixedConcurrency)
		}
	}
	log.Info("registering the load pool", slog.Int("accounts", maxC))
	if err := pool.Fill(ctx, grpcClient, maxC, 8); err != nil {
		return err
	}
	self, err := procfs.Open(os.Getpid())
	if err != nil {
		return err
	}
	if cfg.PprofURL != "" {
		if err := os.MkdirAll(filepath.Join(dir, "pprof"), 0o755); err != nil {
			return err
		}
	}
	// The pipeline part and every registration leave events for the
	// consumers; let them finish before a run that makes none, so their
	// work is not charged to it.
	busy := true
	for i, p := range plans {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var settled time.Duration
		if busy {
			settled = settle(ctx, grouper(cfg, proc.PID), 30*time.Second, log)
		}
		busy = slices.ContainsFunc(p.Mix, func(w load.Weighted) bool { return w.Op == load.OpRegister })
		// sso may have been restarted by someone else since the last run.
		if _, err := proc.CPU(); errors.Is(err, procfs.ErrRestarted) {
			np, err := ssoProcess(cfg)
			if err != nil {
				return fmt.Errorf("sso process went away: %w", err)
			}
			rep.SSO.Restarted = fmt.Sprintf("sso was restarted during the run (pid %d, then %d): its memory peak covers only part of it.", proc.PID, np.PID)
			proc = np
		}
		// Access tokens live 15 minutes by default; a long run renews them.
		if err := pool.Renew(ctx, grpcClient, 10*time.Minute, 8); err != nil {
			return err
		}
		p.Warmup, p.Duration, p.Count, p.Timeout = cfg.Warmup, cfg.Duration, cfg.Count, cfg.Timeout
		var runs []report.Run
		for k := range cfg.Repeat {
			pprofFile := ""
			if cfg.PprofURL != "" {
				name := fmt.Sprintf("%02d-%s-%s-c%d", i+1, p.client.Transport(), p.Profile, p.Concurrency)
				if cfg.Repeat > 1 {
					name += fmt.Sprintf("-r%d", k+1)
				}
				pprofFile = filepath.Join(dir, "pprof", name+".cpu.pb.gz")
			}
			if k > 0 && busy {
				settled = settle(ctx, grouper(cfg, proc.PID), 30*time.Second, log)
			}
			// The host's speed drifts by several percent over minutes (the
			// argon2id ceiling's CPU time per hash moved 17.8-20.0 ms
			// between runs of the same build), so a hash-bound run is held
			// against a ceiling measured right beside it.
			var beside *ceiling.Result
			if cfg.CeilingBeside && cfg.Parts["ceilings"] && report.CeilingFor(p.Profile) == "argon2id" {
				c := ceiling.Argon2id(ctx, argon, cfg.CeilingTime, runtime.GOMAXPROCS(0))
				beside = &c
			}
			r, err := measureRun(ctx, cfg, rep, p, beside, pool, proc, self, pprofFile)
			if err != nil {
				return err
			}
			r.SettleSeconds = settled.Seconds()
			runs = append(runs, r)
			for _, op := range load.Ops {
				if s, ok := r.Ops[op]; ok {
					log.Info("load", slog.String("transport", r.Transport), slog.String("profile", r.Profile), slog.Int("c", r.Concurrency),
						slog.Int("repeat", k+1), slog.String("op", op), slog.Float64("per_s", round(s.Throughput)), slog.Float64("p50_ms", round(s.P50Ms)),
						slog.Float64("p99_ms", round(s.P99Ms)), slog.Int64("errors", s.Errors), slog.Float64("sso_cores", round(r.SSOCores)))
				}
			}
		}
		rep.Load = append(rep.Load, medianRun(runs))
	}
	return nil
}

// measureRun makes one load run of p against sso (proc) and measures it:
// sso's CPU and memory, the machine's CPU by process group, the ratio to
// the operation's ceiling (beside, when measured right before, else the
// one from the start), and a CPU profile into pprofFile if set. It
// raises rep's peak memory figures and notes a failed profile capture.
func measureRun(ctx context.Context, cfg config, rep *report.Report, p plan, beside *ceiling.Result, pool *load.Pool, proc, self *procfs.Process, pprofFile string) (report.Run, error) {
	m := &meter{proc: proc, self: self, hc: &http.Client{}, window: cfg.Duration, group: grouper(cfg, proc.PID), ssoHTTP: cfg.SSOHTTP}
	if pprofFile != "" {
		m.pprofURL = strings.TrimRight(cfg.PprofURL, "/")
		m.pprofFile = pprofFile
	}
	res, err := load.Run(ctx, p.client, pool, p.Plan, m)
	if err != nil {
		return report.Run{}, fmt.Errorf("load run %s/%s c=%d: %w", p.client.Transport(), p.Profile, p.Concurrency, err)
	}
	r := report.Run{Result: res, CeilingBeside: beside}
	if m.err != nil {
		r.MeasureError = m.err.Error()
	} else {
		var ok int64
		for _, s := range res.Ops {
			ok += s.Ops
		}
		r.SSOCPUSeconds = m.usage.CPU.Seconds()
		if ok > 0 {
			r.SSOCPUPerOpMs = m.usage.CPU.Seconds() * 1000 / float64(ok)
		}
		r.SSOCores = m.usage.CPU.Seconds() / m.usage.Wall.Seconds()
		r.SSOPeakRSS = m.usage.PeakRSS
		r.LoadgenCores = m.selfCPU.Seconds() / m.usage.Wall.Seconds()
		if m.usage.PeakRSS > rep.SSO.PeakRSS {
			rep.SSO.PeakRSS, rep.SSO.PeakAnon, rep.SSO.PeakFile = m.usage.PeakRSS, m.usage.PeakAnon, m.usage.PeakFile
		}
		wall := m.usage.Wall.Seconds()
		r.MachineCores = m.machine.Seconds() / wall
		r.CPUCores = map[string]float64{}
		for g, d := range m.groups {
			r.CPUCores[g] = d.Seconds() / wall
		}
	}
	if m.cacheOK {
		if h, ok := hitRatio(m.cache0, m.cache1); ok {
			r.TokenCacheHitRatio = &h
		}
	}
	if p.Profile != "mixed" {
		if c, ok := rep.CeilingOf(r, p.Profile); ok {
			r.Ceiling, r.CeilingPerS = c.Name, c.Limit()
			r.Ratio = res.Ops[p.Profile].Throughput / c.Limit()
			if c.CPUPerOpMs > 0 && r.SSOCPUPerOpMs > 0 {
				r.CPUEfficiency = c.CPUPerOpMs / r.SSOCPUPerOpMs
			}
		}
	}
	if m.pprofErr != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("pprof capture for %s/%s c=%d failed: %v", p.client.Transport(), p.Profile, p.Concurrency, m.pprofErr))
	}
	return r, nil
}

// medianRun picks, of repeats of one load run, the one with the median
// throughput (the lower middle of an even count) and records every
// repeat's throughput in it. It keeps a whole run rather than averaging,
// so that its latencies, CPU and memory all come from the same window.
func medianRun(runs []report.Run) report.Run {
	if len(runs) == 1 {
		return runs[0]
	}
	byRate := slices.Clone(runs)
	slices.SortStableFunc(byRate, func(a, b report.Run) int { return cmp.Compare(a.TotalThroughput(), b.TotalThroughput()) })
	r := byRate[(len(byRate)-1)/2]
	r.Repeats = make([]float64, len(runs))
	for k, run := range runs {
		r.Repeats[k] = run.TotalThroughput()
	}
	return r
}

// grouper names the process group a process's CPU time is reported
// under: the measured sso, this load generator, the stack's components by
// their pid files in .local/run, PostgreSQL by name (its backends are
// forked per connection), and other for the rest of the machine.
func grouper(cfg config, ssoPID int) func(procfs.Sample) string {
	byPID := map[int]string{ssoPID: "sso", os.Getpid(): "loadgen"}
	run := filepath.Join(cfg.Root, ".local", "run")
	for _, name := range []string{"kafka", "apicurio", "mailpit", "loyalty-points", "welcome-notifier"} {
		if pid, err := procfs.ReadPIDFile(filepath.Join(run, name+".pid")); err == nil {
			byPID[pid] = name
		}
	}
	// Both Redis nodes and the three Sentinels (redis-<port>.pid,
	// sentinel-<port>.pid) count as redis.
	files, _ := filepath.Glob(filepath.Join(run, "redis-*.pid"))
	sentinels, _ := filepath.Glob(filepath.Join(run, "sentinel-*.pid"))
	for _, f := range append(files, sentinels...) {
		if pid, err := procfs.ReadPIDFile(f); err == nil {
			byPID[pid] = "redis"
		}
	}
	return func(s procfs.Sample) string {
		if g, ok := byPID[s.PID]; ok {
			return g
		}
		if s.Comm == "postgres" {
			return "postgres"
		}
		return "other"
	}
}

// settle waits, up to limit, until the consumers are idle: loyalty-points
// and welcome-notifier together below 0.03 cores over a second. It returns
// how long it waited.
func settle(ctx context.Context, group func(procfs.Sample) string, limit time.Duration, log *slog.Logger) time.Duration {
	start := time.Now()
	for time.Since(start) < limit && ctx.Err() == nil {
		before, err := procfs.Scan()
		if err != nil {
			return 0
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		after, err := procfs.Scan()
		if err != nil {
			return 0
		}
		g := procfs.CPUByGroup(before, after, group)
		if (g["loyalty-points"] + g["welcome-notifier"]).Seconds() < 0.03 {
			break
		}
	}
	waited := time.Since(start)
	if waited > 2*time.Second {
		log.Info("waited for the consumers to go idle", slog.Duration("waited", waited.Round(time.Millisecond)))
	}
	return waited
}

func round(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// meter measures the sso process (and this one) over a load run's window,
// and optionally fetches a CPU profile of sso for the window.
type meter struct {
	proc, self *procfs.Process
	win        *procfs.Window
	self0      time.Duration
	usage      procfs.Usage
	selfCPU    time.Duration
	err        error

	// Whole-machine CPU, and CPU by process group, over the window.
	group    func(procfs.Sample) string
	machine0 procfs.MachineCPU
	scan0    map[int]procfs.Sample
	machine  time.Duration
	groups   map[string]time.Duration

	hc        *http.Client
	window    time.Duration
	pprofURL  string
	pprofFile string
	pprofDone chan struct{}
	pprofErr  error

	// sso's verified-token cache counters at Begin and End (ssoHTTP set).
	ssoHTTP        string
	cache0, cache1 tokenCacheLookups
	cacheOK        bool
}

func (m *meter) Begin() {
	// sso's /metrics is read before the window opens and after it closes,
	// so rendering it is not counted as sso's CPU for the run.
	if m.ssoHTTP != "" {
		m.cache0, m.cacheOK, _ = readTokenCache(m.hc, m.ssoHTTP)
	}
	m.machine0, _ = procfs.ReadMachineCPU()
	m.scan0, _ = procfs.Scan()
	m.win, m.err = m.proc.Measure(50 * time.Millisecond)
	m.self0, _ = m.self.CPU()
	if m.pprofURL != "" {
		m.pprofDone = make(chan struct{})
		go func() {
			defer close(m.pprofDone)
			m.pprofErr = fetchProfile(m.hc, m.pprofURL, m.window, m.pprofFile)
		}()
	}
}

func (m *meter) End() {
	if self1, err := m.self.CPU(); err == nil {
		m.selfCPU = self1 - m.self0
	}
	if m.win != nil {
		m.usage, m.err = m.win.Stop()
	}
	if mc, err := procfs.ReadMachineCPU(); err == nil && m.machine0.Total > 0 {
		m.machine = mc.Busy - m.machine0.Busy
	}
	if scan1, err := procfs.Scan(); err == nil && m.scan0 != nil {
		m.groups = procfs.CPUByGroup(m.scan0, scan1, m.group)
	}
	if m.cacheOK {
		var err error
		m.cache1, m.cacheOK, err = readTokenCache(m.hc, m.ssoHTTP)
		m.cacheOK = m.cacheOK && err == nil
	}
	if m.pprofDone != nil {
		<-m.pprofDone
	}
}

// fetchProfile saves a CPU profile of d (whole seconds, at least one) from
// a /debug/pprof endpoint.
func fetchProfile(hc *http.Client, base string, d time.Duration, path string) error {
	secs := max(int(d.Seconds()), 1)
	resp, err := hc.Get(base + "/profile?seconds=" + strconv.Itoa(secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/profile answered %d", base, resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeReport(cfg config, dir string, rep *report.Report, log *slog.Logger) error {
	if err := report.WriteJSON(rep, filepath.Join(dir, "report.json")); err != nil {
		return err
	}
	if err := report.WriteChart(rep, filepath.Join(dir, "latency.png")); err != nil {
		return err
	}
	repro := reproduce(cfg)
	var md bytes.Buffer
	if err := report.WriteMarkdown(&md, rep, report.MarkdownOptions{Chart: "latency.png", Reproduce: repro}); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	// LATEST.md sits one level up, so its chart link goes into the run's
	// folder; latest points at the folder.
	md.Reset()
	if err := report.WriteMarkdown(&md, rep, report.MarkdownOptions{Chart: rep.RunID + "/latency.png", Reproduce: repro}); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfg.Out, "LATEST.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	link := filepath.Join(cfg.Out, "latest")
	_ = os.Remove(link)
	if err := os.Symlink(rep.RunID, link); err != nil {
		log.Warn("could not link latest", slog.Any("error", err))
	}
	for _, readme := range cfg.Readmes {
		path := readme
		if !filepath.IsAbs(path) {
			path = filepath.Join(cfg.Root, readme)
		}
		rel, err := filepath.Rel(filepath.Dir(path), dir)
		if err != nil {
			rel = dir
		}
		switch err := report.UpdateReadme(path, rep, filepath.ToSlash(rel)); {
		case err == nil:
			log.Info("figures updated", slog.String("readme", readme))
		case errors.Is(err, report.ErrNoMarkers), errors.Is(err, os.ErrNotExist):
		default:
			log.Warn("could not update the figures", slog.String("readme", readme), slog.Any("error", err))
		}
	}
	if err := retireEarlierRuns(cfg.Out, rep.RunID, filepath.Join(cfg.Root, ".local", "bench", "results"), log); err != nil {
		log.Warn("could not retire the earlier runs", slog.Any("error", err))
	}
	log.Info("report written", slog.String("dir", dir), slog.String("latest", filepath.Join(cfg.Out, "LATEST.md")))
	fmt.Println(filepath.Join(dir, "report.md"))
	return nil
}

// retireEarlierRuns keeps the repository to one run in full: every other
// run folder under out gets its line in out/HISTORY.md and moves to
// archive (git-ignored state), profiles and chart included.
func retireEarlierRuns(out, keep, archive string, log *slog.Logger) error {
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	for _, e := range entries {
		id := e.Name()
		if !e.IsDir() || id == keep || !isRunID(id) {
			continue
		}
		src := filepath.Join(out, id)
		if err := report.AppendHistory(filepath.Join(out, "HISTORY.md"), filepath.Join(src, "report.json")); err != nil {
			return err
		}
		if err := os.MkdirAll(archive, 0o755); err != nil {
			return err
		}
		if err := os.Rename(src, filepath.Join(archive, id)); err != nil {
			return err
		}
		log.Info("earlier run retired", slog.String("run", id), slog.String("moved_to", filepath.Join(archive, id)))
	}
	return nil
}

// isRunID reports whether name is a run folder's name, a UTC timestamp
// such as 20261127T015544Z.
func isRunID(name string) bool {
	_, err := time.Parse("20060102T150405Z", name)
	return err == nil
}

// reproduce is the command line of this run, without the flags that only
// say where things are.
func reproduce(cfg config) string {
	args := []string{"bench/run.sh"}
	def, _ := parseFlags(nil)
	for _, k := range slices.Sorted(maps.Keys(cfg.settings)) {
		if def.settings[k] != cfg.settings[k] {
			args = append(args, "-"+k+"="+shellQuote(cfg.settings[k]))
		}
	}
	up := "go tool task up\n"
	if u, err := url.Parse(cfg.PprofURL); err == nil && cfg.PprofURL != "" {
		// sso serves pprof only when told to, on a port of its own.
		up += "SSO_PPROF_ADDR=" + u.Host + " deploy/local/services up sso\n"
	}
	return up + strings.Join(args, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(",.=:/_-", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func hostInfo() report.Host {
	h := report.Host{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(), LoadAvgStart: loadavg()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				h.MemTotal = kb * 1024
			}
		}
	}
	return h
}

// loadavg returns the 1, 5 and 15 minute load averages.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// loadAbove reports whether the 1-minute load average in la exceeds v.
func loadAbove(la string, v float64) bool {
	f := strings.Fields(la)
	if len(f) == 0 {
		return false
	}
	x, err := strconv.ParseFloat(f[0], 64)
	return err == nil && x > v
}
