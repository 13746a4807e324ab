// Command sso runs the single sign-on service: the gRPC API, its REST
// gateway, and the health and metrics endpoints.
//
// Usage:
//
//	sso                 serve (migrating the database first)
//	sso migrate         apply the database migrations and exit
//	sso keys rotate     add a new signing key to SSO_JWT_KEYS_DIR and exit;
//	                    restart the replicas to sign with it (older keys stay
//	                    published for verification)
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/ssokit/platform/libs/telemetry"
	"github.com/ssokit/platform/services/sso/internal/config"
	"github.com/ssokit/platform/services/sso/internal/service"
	"github.com/ssokit/platform/services/sso/internal/token"
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
	case len(args) == 2 && args[0] == "keys" && args[1] == "rotate":
		kid, err := token.Rotate(cfg.Tokens.KeysDir)
		if err != nil {
			return err
		}
		log.InfoContext(ctx, "signing key added", slog.String("kid", kid), slog.String("dir", cfg.Tokens.KeysDir))
		return nil
	default:
		return fmt.Errorf("unknown command %q (want no arguments, \"migrate\" or \"keys rotate\")", strings.Join(args, " "))
	}

	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(cfg.GCPercent)
	}
	if cfg.MemoryLimitMiB > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimitMiB << 20)
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
