// Command sso runs the single sign-on service: the gRPC API, its REST
// gateway, and the health and metrics endpoints.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ssokit/platform/libs/telemetry"
	"github.com/ssokit/platform/services/sso/internal/config"
	"github.com/ssokit/platform/services/sso/internal/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "sso:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	log := telemetry.NewLogger(os.Stdout, service.Name, telemetry.ParseLevel(cfg.LogLevel))
	shutdownTracing, err := telemetry.SetupTracing(ctx, telemetry.TraceConfig{
		Service:     service.Name,
		SampleRatio: cfg.TraceSampleRatio,
	})
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer shutdownTracing(context.WithoutCancel(ctx))

	log.InfoContext(ctx, "starting", slog.Any("config", cfg))
	proc, err := service.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	err = proc.Run(ctx)
	log.InfoContext(ctx, "stopped", slog.Any("error", err))
	return err
}
