package bootstrap

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/ssokit/platform/libs/config"
	"github.com/ssokit/platform/libs/server"
	"github.com/ssokit/platform/libs/telemetry"
)

// Configuration is a service's Config: it embeds config.Process, whose
// settings Run needs before the service's own wiring runs.
type Configuration interface {
	ProcessConfig() config.Process
}

// Program describes a service binary.
type Program[C Configuration] struct {
	// Name is the service name in logs, traces and error messages.
	Name string
	// Load reads and validates the configuration.
	Load func() (C, error)
	// Start builds the process: it connects to the dependencies and
	// listens, but serves nothing until the process runs.
	Start func(context.Context, C, *slog.Logger) (*server.Process, error)
	// Commands are what the binary does instead of serving when it is given
	// arguments.
	Commands []Command[C]
}

// Command is a subcommand of a service binary: it runs and the binary
// exits.
type Command[C any] struct {
	// Name is the arguments that select it, separated by single spaces:
	// "migrate", "keys rotate".
	Name string
	// Flags, when not nil, declares the command's flags on fs (into
	// variables Run reads); the arguments after Name are parsed into them
	// before Run. A command without Flags takes no further arguments.
	Flags func(fs *flag.FlagSet)
	// Args, when not nil, receives the positional arguments after Name
	// (and its flags) before Run, and refuses them with an error; a
	// command without Args takes none.
	Args func(args []string) error
	// Run does the work and logs its outcome.
	Run func(context.Context, C, *slog.Logger) error
}

// Migrate is the "migrate" command: it applies the database migrations with
// migrate and exits.
func Migrate[C any](migrate func(context.Context, C) error) Command[C] {
	return Command[C]{Name: "migrate", Run: func(ctx context.Context, cfg C, log *slog.Logger) error {
		if err := migrate(ctx, cfg); err != nil {
			return err
		}
		log.InfoContext(ctx, "database migrated")
		return nil
	}}
}

// Main runs the program with the process's arguments until SIGINT or
// SIGTERM, and exits with status 1 after printing the error if it fails.
//
// The service logs to standard output, where its platform collects them. A
// command logs to standard error instead: its standard output is its
// result (a client's secret, a JSON list) that a script pipes on.
func Main[C Configuration](p Program[C]) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	logs := os.Stdout
	if len(os.Args) > 1 {
		logs = os.Stderr
	}
	err := p.Run(ctx, os.Args[1:], logs)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, p.Name+":", err)
		os.Exit(1)
	}
}

// Run loads the configuration and sets up logging (to logs) and tracing.
// Then, with args naming a command, it runs that command; with no args it
// starts the process and runs it until ctx is cancelled, logging the
// configuration at start and the outcome at the end.
func (p Program[C]) Run(ctx context.Context, args []string, logs io.Writer) error {
	cfg, err := p.Load()
	if err != nil {
		return err
	}
	pc := cfg.ProcessConfig()
	log, shutdownTracing, err := telemetry.Setup(ctx, logs, telemetry.Options{
		Service:      p.Name,
		LogLevel:     pc.LogLevel,
		SampleRatio:  pc.TraceSampleRatio,
		OTLPEndpoint: pc.OTLPEndpoint,
	})
	if err != nil {
		return err
	}
	defer shutdownTracing(context.WithoutCancel(ctx))

	if len(args) > 0 {
		c, rest, ok := p.command(args)
		if !ok {
			return fmt.Errorf("unknown command %q (want %s)", strings.Join(args, " "), p.usage())
		}
		if c.Flags != nil {
			fs := flag.NewFlagSet(p.Name+" "+c.Name, flag.ContinueOnError)
			fs.SetOutput(logs)
			c.Flags(fs)
			err := fs.Parse(rest)
			if errors.Is(err, flag.ErrHelp) {
				return nil // the usage was printed
			}
			if err != nil {
				return fmt.Errorf("%s: %w", c.Name, err)
			}
			rest = fs.Args()
		}
		if c.Args != nil {
			if err := c.Args(rest); err != nil {
				return fmt.Errorf("%s: %w", c.Name, err)
			}
		} else if len(rest) > 0 {
			return fmt.Errorf("%s: unexpected arguments %q", c.Name, rest)
		}
		return c.Run(ctx, cfg, log)
	}

	log.InfoContext(ctx, "starting", slog.Any("config", cfg))
	proc, err := p.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	err = proc.Run(ctx)
	log.InfoContext(ctx, "stopped", slog.Any("error", err))
	return err
}

// command returns the command args select and the arguments after its
// name: a command with flags or arguments takes the rest, one without
// takes nothing more.
func (p Program[C]) command(args []string) (Command[C], []string, bool) {
	for _, c := range p.Commands {
		name := strings.Fields(c.Name)
		if len(args) < len(name) || strings.Join(args[:len(name)], " ") != c.Name {
			continue
		}
		rest := args[len(name):]
		if len(rest) > 0 && c.Flags == nil && c.Args == nil {
			continue
		}
		return c, rest, true
	}
	return Command[C]{}, nil, false
}

// usage lists what the binary accepts: `no arguments, "migrate" or "keys
// rotate"`.
func (p Program[C]) usage() string {
	choices := []string{"no arguments"}
	for _, c := range p.Commands {
		choices = append(choices, strconv.Quote(c.Name))
	}
	if len(choices) == 1 {
		return choices[0]
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}
