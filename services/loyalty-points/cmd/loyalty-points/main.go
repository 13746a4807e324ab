// Command loyalty-points keeps users' loyalty balances: it credits the
// welcome bonus from UserRegistered events and serves balance, history,
// deposit and withdraw over gRPC and REST.
//
// Usage:
//
//	loyalty-points           serve and consume (migrating the database first)
//	loyalty-points migrate   apply the database migrations and exit
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ssokit/platform/libs/telemetry"
	"github.com/ssokit/platform/services/loyalty-points/internal/config"
	"github.com/ssokit/platform/services/loyalty-points/internal/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, service.Name+":", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	log, shutdownTracing, err := telemetry.Setup(ctx, os.Stdout, telemetry.Options{
		Service:      service.Name,
		LogLevel:     cfg.LogLevel,
		SampleRatio:  cfg.TraceSampleRatio,
		OTLPEndpoint: cfg.OTLPEndpoint,
	})
	if err != nil {
		return err
	}
	defer shutdownTracing(context.WithoutCancel(ctx))

	switch args := os.Args[1:]; {
	case len(args) == 0:
	case len(args) == 1 && args[0] == "migrate":
		if err := service.Migrate(ctx, cfg); err != nil {
			return err
		}
		log.InfoContext(ctx, "database migrated")
		return nil
	default:
		return fmt.Errorf("unknown command %q (want no arguments or \"migrate\")", strings.Join(args, " "))
	}

	log.InfoContext(ctx, "starting", slog.Any("config", cfg))
	proc, err := service.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	err = proc.Run(ctx)
	log.InfoContext(ctx, "stopped", slog.Any("error", err))
	return err
}
