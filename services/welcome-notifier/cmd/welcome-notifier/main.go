// Command welcome-notifier consumes UserRegistered events and sends each
// new user one welcome e-mail.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ssokit/platform/libs/telemetry"
	"github.com/ssokit/platform/services/welcome-notifier/internal/config"
	"github.com/ssokit/platform/services/welcome-notifier/internal/service"
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

	log.InfoContext(ctx, "starting", slog.Any("config", cfg))
	proc, err := service.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	err = proc.Run(ctx)
	log.InfoContext(ctx, "stopped", slog.Any("error", err))
	return err
}
