// Command bench measures the running ssokit stack against the physical
// limits of the machine it runs on: Go micro benchmarks of sso's hot paths,
// the argon2id and Ed25519 ceilings, closed-loop load over gRPC and REST,
// the registration event pipeline's latency, and the outbox backlog drain.
// It writes report.json, report.md and latency.png under
// bench/results/<UTC timestamp>/, and bench/results/LATEST.md. Earlier run
// folders leave bench/results for .local/bench/results, each leaving a line
// in bench/results/HISTORY.md: the repository carries one run in full.
//
// Start the stack first (go tool task up), then: bench/run.sh [flags], or
// go tool task bench. bench -h lists the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(ctx, cfg, log); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config is everything the flags set.
type config struct {
	Root, Out string
	Parts     set

	SSOGRPC, SSOHTTP, LoyaltyHTTP, NotifierHTTP string
	SSOPIDFile                                  string
	SSOPID                                      int
	SSODB, LoyaltyDB, Mailpit, Kafka            string
	SchemaRegistry                              string

	Profiles, Transports set
	Warmup, Duration     time.Duration
	Repeat               int
	Count                int64
	GRPCLevels           []int
	RESTLevels           []int
	MixedConcurrency     int
	Mix                  string
	GRPCConns            int
	Timeout              time.Duration

	CeilingTime time.Duration
	// CeilingBeside measures the argon2id ceiling again right before each
	// register and login run and holds the run against it.
	CeilingBeside bool
	Argon2        string

	MicroBenchTime time.Duration
	MicroPackages  []string

	PipelineRate     float64
	PipelineDuration time.Duration
	PipelineSettle   time.Duration

	DrainEvents  int
	DrainMode    string
	DrainTopic   string
	DrainTimeout time.Duration

	PprofURL string
	Notes    []string
	Readmes  []string

	settings map[string]string
}

var knownParts = set{"micro": true, "ceilings": true, "pipeline": true, "drain": true, "load": true}

// set is a comma-separated list of names.
type set map[string]bool

func parseSet(s string) set {
	out := set{}
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out[f] = true
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

type notes []string

func (n *notes) String() string     { return strings.Join(*n, "; ") }
func (n *notes) Set(v string) error { *n = append(*n, v); return nil }

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: bench [flags]\n\nMeasures the running stack (go tool task up) and writes a report under -out.\n\n")
		fs.PrintDefaults()
	}
	root := fs.String("root", "", "repository root (default: the nearest parent directory holding go.work)")
	out := fs.String("out", "", "results directory (default <root>/bench/results)")
	parts := fs.String("parts", "micro,ceilings,pipeline,load,drain", "parts to run, comma-separated, in a fixed order: micro, ceilings, pipeline, load, drain")

	fs.StringVar(&c.SSOGRPC, "sso-grpc", "127.0.0.1:44044", "sso gRPC address")
	fs.StringVar(&c.SSOHTTP, "sso-http", "http://127.0.0.1:8000", "sso HTTP base URL (REST gateway, /readyz)")
	fs.StringVar(&c.LoyaltyHTTP, "loyalty-http", "http://127.0.0.1:8001", "loyalty-points HTTP base URL (/readyz)")
	fs.StringVar(&c.NotifierHTTP, "notifier-http", "http://127.0.0.1:8002", "welcome-notifier HTTP base URL (/readyz)")
	pidFile := fs.String("sso-pid-file", "", "file holding sso's pid (default <root>/.local/run/sso.pid)")
	fs.IntVar(&c.SSOPID, "sso-pid", 0, "sso's pid, instead of -sso-pid-file")
	fs.StringVar(&c.SSODB, "sso-db", "postgres://postgres:postgres@/sso?sslmode=disable&host=127.0.0.1,127.0.0.1&port=5432,5433&connect_timeout=2&target_session_attrs=read-write", "sso's database (primary)")
	fs.StringVar(&c.LoyaltyDB, "loyalty-db", "postgres://postgres:postgres@/loyalty?sslmode=disable&host=127.0.0.1,127.0.0.1&port=5432,5433&connect_timeout=2&target_session_attrs=read-write", "loyalty-points' database")
	fs.StringVar(&c.Mailpit, "mailpit", "http://127.0.0.1:8025", "Mailpit API base URL")
	fs.StringVar(&c.Kafka, "kafka", "127.0.0.1:9092", "Kafka broker address, watched during the drain's outage")
	fs.StringVar(&c.SchemaRegistry, "schema-registry", "http://127.0.0.1:8081/apis/ccompat/v7", "Schema Registry the drain registers its topic's schema in (sso registers none)")

	profiles := fs.String("profiles", "register,login,refresh,validate,mixed", "load profiles")
	transports := fs.String("transports", "grpc,rest", "transports for the load profiles")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "warm-up before each load run, excluded from the figures")
	fs.IntVar(&c.Repeat, "repeat", 1, "make each load run this many times and report the one with the median throughput")
	fs.DurationVar(&c.Duration, "duration", 5*time.Second, "measured window of each load run")
	fs.Int64Var(&c.Count, "count", 0, "if > 0, end each load run after this many measured requests (-duration then caps it)")
	grpcLevels := fs.String("concurrency", "1,8,64", "gRPC worker counts swept by each single-operation profile")
	restLevels := fs.String("rest-concurrency", "16", "REST worker counts for each single-operation profile")
	fs.IntVar(&c.MixedConcurrency, "mixed-concurrency", 32, "workers of the mixed profile")
	fs.StringVar(&c.Mix, "mix", "validate=70,refresh=20,login=7,register=3", "operation weights of the mixed profile")
	fs.IntVar(&c.GRPCConns, "grpc-conns", 1, "gRPC connections the workers share")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "per-request timeout")

	fs.DurationVar(&c.CeilingTime, "ceiling-time", 3*time.Second, "how long each ceiling is measured")
	fs.BoolVar(&c.CeilingBeside, "ceiling-beside", true, "with the ceilings part, measure the argon2id ceiling again right before each register and login run and hold the run against it (the host's speed drifts by several percent over minutes)")
	fs.StringVar(&c.Argon2, "argon2", "", "argon2id parameters for the ceiling, as m=19456,t=2,p=1 (default: read from a hash the running sso just stored)")

	fs.DurationVar(&c.MicroBenchTime, "micro-benchtime", time.Second, "go test -benchtime for the micro benchmarks")
	microPkgs := fs.String("micro-packages", "./internal/token,./internal/redis,./internal/password,./internal/postgres,./internal/outbox", "sso packages whose benchmarks run")

	fs.Float64Var(&c.PipelineRate, "pipeline-rate", 50, "registrations per second of the pipeline measurement (open loop)")
	fs.DurationVar(&c.PipelineDuration, "pipeline-duration", 20*time.Second, "how long the pipeline measurement registers")
	fs.DurationVar(&c.PipelineSettle, "pipeline-settle", 30*time.Second, "how long to wait for credits and mails after the last registration")

	fs.IntVar(&c.DrainEvents, "drain-events", 10_000, "outbox backlog size")
	fs.StringVar(&c.DrainMode, "drain-mode", "outage", "outage: stop Kafka (deploy/local/stack down kafka), write the backlog, start Kafka; inject: write the backlog with Kafka up")
	fs.StringVar(&c.DrainTopic, "drain-topic", "bench.outbox-drain", "topic of the backlog's events (no consumer reads it)")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", 3*time.Minute, "the longest the drain may take")

	fs.StringVar(&c.PprofURL, "pprof", "", "base URL of sso's /debug/pprof, if it serves one: a CPU profile of each load run's window is saved under pprof/")
	readmes := fs.String("readme", "bench/README.md,README.md", "files (relative to -root) whose <!-- bench:latest:begin/end --> section is rewritten with this run's summary; files without the markers are left alone")
	var n notes
	fs.Var(&n, "note", "a note printed at the top of the report (repeatable)")

	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c.Notes = n
	c.Parts = parseSet(*parts)
	c.Profiles = parseSet(*profiles)
	c.Transports = parseSet(*transports)
	for p := range c.Parts {
		if !knownParts[p] {
			return config{}, fmt.Errorf("-parts: unknown part %q", p)
		}
	}
	for t := range c.Transports {
		if t != "grpc" && t != "rest" {
			return config{}, fmt.Errorf("-transports: unknown transport %q", t)
		}
	}
	var err error
	if c.GRPCLevels, err = parseInts(*grpcLevels); err != nil {
		return config{}, fmt.Errorf("-concurrency: %w", err)
	}
	if c.RESTLevels, err = parseInts(*restLevels); err != nil {
		return config{}, fmt.Errorf("-rest-concurrency: %w", err)
	}
	if c.MixedConcurrency < 1 || c.GRPCConns < 1 || c.Repeat < 1 {
		return config{}, errors.New("-mixed-concurrency, -grpc-conns and -repeat must be positive")
	}
	if c.DrainMode != "outage" && c.DrainMode != "inject" {
		return config{}, fmt.Errorf("-drain-mode: %q is neither outage nor inject", c.DrainMode)
	}
	for p := range strings.SplitSeq(*microPkgs, ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.MicroPackages = append(c.MicroPackages, p)
		}
	}

	for r := range strings.SplitSeq(*readmes, ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.Readmes = append(c.Readmes, r)
		}
	}
	c.Root = *root
	if c.Root == "" {
		if c.Root, err = findRoot(); err != nil {
			return config{}, err
		}
	}
	if c.Root, err = filepath.Abs(c.Root); err != nil {
		return config{}, err
	}
	c.Out = *out
	if c.Out == "" {
		c.Out = filepath.Join(c.Root, "bench", "results")
	}
	c.SSOPIDFile = *pidFile
	if c.SSOPIDFile == "" {
		c.SSOPIDFile = filepath.Join(c.Root, ".local", "run", "sso.pid")
	}
	c.settings = map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		switch f.Name {
		case "root", "out", "note", "readme", "sso-db", "loyalty-db":
			return // paths and credentials say nothing about the figures
		}
		c.settings[f.Name] = f.Value.String()
	})
	return c, nil
}

// findRoot returns the nearest directory from the working directory up
// that holds go.work.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work above the working directory: pass -root")
		}
		dir = parent
	}
}
