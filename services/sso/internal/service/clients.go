package service

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/ssokit/platform/libs/bootstrap"
	"github.com/ssokit/platform/services/sso/internal/config"
	"github.com/ssokit/platform/services/sso/internal/oidc"
)

// ClientCommands are `sso clients create|list|delete`: the OpenID Connect
// clients in the configured database, for an operator setting up the
// first applications without an administrator's token. The API
// (/v1/admin/clients) does the same for administrators. Output goes to
// out: a new client's secret is printed there once and never logged.
func ClientCommands(out io.Writer) []bootstrap.Command[config.Config] {
	var (
		reg       oidc.Registration
		public    bool
		deleteID  string
		listFlags = func(dst *[]string) func(string) error {
			return func(v string) error {
				*dst = append(*dst, strings.Fields(strings.ReplaceAll(v, ",", " "))...)
				return nil
			}
		}
	)
	create := bootstrap.Command[config.Config]{
		Name: "clients create",
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&reg.Name, "name", "", "the application's name, shown on the consent page (required)")
			fs.BoolVar(&public, "public", false, "a public client (single-page or native app): no secret, PKCE S256 required")
			fs.BoolVar(&reg.FirstParty, "first-party", false, "one of our own applications: users are not asked to consent")
			fs.Func("redirect-uri", "a redirect URI, matched exactly (repeat or comma-separate; at least one)", listFlags(&reg.RedirectURIs))
			fs.Func("post-logout-redirect-uri", "where logout may return to (repeat or comma-separate)", listFlags(&reg.PostLogoutRedirectURIs))
			fs.Func("scope", "an allowed scope: openid, email, offline_access (default openid email)", listFlags(&reg.Scopes))
		},
		Run: func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
			reg.Confidential = !public
			return withClients(cfg, func(clients *oidc.Clients) error {
				c, secret, err := oidc.Register(ctx, clients, reg)
				if err != nil {
					return err
				}
				log.InfoContext(ctx, "client registered", slog.String("client_id", c.ID))
				return printJSON(out, map[string]any{"client": clientJSON(c), "client_secret": secret})
			})
		},
	}
	list := bootstrap.Command[config.Config]{
		Name: "clients list",
		Run: func(ctx context.Context, cfg config.Config, _ *slog.Logger) error {
			return withClients(cfg, func(clients *oidc.Clients) error {
				cs, err := clients.List(ctx)
				if err != nil {
					return err
				}
				all := make([]map[string]any, len(cs))
				for i, c := range cs {
					all[i] = clientJSON(c)
				}
				return printJSON(out, map[string]any{"clients": all})
			})
		},
	}
	del := bootstrap.Command[config.Config]{
		Name: "clients delete",
		Args: func(args []string) error {
			if len(args) != 1 {
				return errors.New("want exactly one argument, the client id")
			}
			deleteID = args[0]
			return nil
		},
		Run: func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
			return withClients(cfg, func(clients *oidc.Clients) error {
				if err := clients.Delete(ctx, deleteID); err != nil {
					return err
				}
				log.InfoContext(ctx, "client deleted", slog.String("client_id", deleteID))
				return nil
			})
		},
	}
	return []bootstrap.Command[config.Config]{create, list, del}
}

func withClients(cfg config.Config, f func(*oidc.Clients) error) error {
	db, err := bootstrap.OpenDB(cfg.DB.PrimaryDSN, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	return f(oidc.NewClients(db))
}

func clientJSON(c oidc.Client) map[string]any {
	return map[string]any{"client_id": c.ID, "name": c.Name, "confidential": c.Confidential, "first_party": c.FirstParty,
		"redirect_uris": c.RedirectURIs, "post_logout_redirect_uris": c.PostLogoutRedirectURIs, "scopes": c.Scopes,
		"created_at": c.CreatedAt}
}

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("print: %w", err)
	}
	return nil
}
