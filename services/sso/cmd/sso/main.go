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
//	sso schemas register
//	                    set BACKWARD_TRANSITIVE on the event subjects and
//	                    register the event schemas of this build, then exit;
//	                    fails on a schema the registry finds incompatible
//	sso admin grant EMAIL
//	sso admin revoke EMAIL
//	                    make the account with the e-mail an administrator, or
//	                    a plain user again (ending its sessions), and exit;
//	                    idempotent, fails for an unknown address
//	sso clients create -name NAME -redirect-uri URI [-public] [-first-party]
//	                   [-post-logout-redirect-uri URI] [-scope SCOPE]
//	sso clients list
//	sso clients delete CLIENT_ID
//	                    register, list or delete OpenID Connect clients; create
//	                    prints the client and its secret (once) as JSON
package main

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/ssokit/platform/libs/bootstrap"
	libconfig "github.com/ssokit/platform/libs/config"
	"github.com/ssokit/platform/libs/server"
	"github.com/ssokit/platform/services/sso/internal/config"
	"github.com/ssokit/platform/services/sso/internal/service"
	"github.com/ssokit/platform/services/sso/internal/token"
)

func main() {
	bootstrap.Main(bootstrap.Program[config.Config]{
		Name:  service.Name,
		Load:  config.Load,
		Start: start,
		Commands: append([]bootstrap.Command[config.Config]{
			bootstrap.Migrate(service.Migrate),
			{Name: "keys rotate", Run: rotateKeys},
			{Name: "schemas register", Run: service.RegisterSchemas},
			service.AdminCommand(true),
			service.AdminCommand(false),
		}, service.ClientCommands(os.Stdout)...),
	})
}

// start tunes the Go runtime's memory use, then builds the process.
func start(ctx context.Context, cfg config.Config, log *slog.Logger) (*server.Process, error) {
	// GOGC, which the runtime has already applied, wins over SSO_GC_PERCENT.
	if libconfig.RuntimeVar("GOGC") == "" {
		debug.SetGCPercent(cfg.GCPercent)
	}
	if cfg.MemoryLimitMiB > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimitMiB << 20)
	}
	return service.New(ctx, cfg, log)
}

func rotateKeys(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	kid, err := token.Rotate(cfg.Tokens.KeysDir)
	if err != nil {
		return err
	}
	log.InfoContext(ctx, "signing key added", slog.String("kid", kid), slog.String("dir", cfg.Tokens.KeysDir))
	return nil
}
