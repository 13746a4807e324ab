package gateway

import (
	"context"
	"net/http"
	"net/netip"

	"google.golang.org/grpc"

	"github.com/ssokit/platform/libs/gen/openapi"
	"github.com/ssokit/platform/libs/server"
	"github.com/ssokit/platform/libs/swaggerui"
)

// API is a service's gRPC API and the HTTP port beside it.
type API struct {
	// GRPCAddr serves the gRPC API.
	GRPCAddr string
	// Register adds the service's gRPC handlers.
	Register func(grpc.ServiceRegistrar)
	// Handlers are the generated Register*Handler functions of the REST
	// facade.
	Handlers []RegisterFunc
	// Title and Spec are the Swagger UI's title and the OpenAPI document
	// (a file of libs/gen/openapi) it shows.
	Title, Spec string
	// HTTP is the HTTP port; the REST facade and the Swagger UI are added
	// to it before HTTP.Routes.
	HTTP server.HTTPConfig
	// TrustedProxies are the proxies whose X-Forwarded-For the facade
	// believes (WithTrustedProxies); none by default.
	TrustedProxies []netip.Prefix
}

// ServeAPI adds to p the gRPC server (server.NewGRPC, its metrics on
// api.HTTP.Metrics) and the HTTP server with the REST facade and the
// Swagger UI (Mount) beside health and metrics (Process.ServeHTTP). The
// facade's connection to the gRPC server is closed when p is.
func ServeAPI(ctx context.Context, p *server.Process, api API) error {
	g, err := server.NewGRPC(api.GRPCAddr, p.Log(), api.HTTP.Metrics, api.Register,
		server.WithUnaryInterceptors(ClientIPInterceptor))
	if err != nil {
		return err
	}
	p.Serve(g)
	spec, err := swaggerui.SpecFromFS(openapi.FS, api.Spec)
	if err != nil {
		return err
	}
	h := api.HTTP
	h.Routes = func(mux *http.ServeMux) error {
		conn, err := Mount(ctx, mux, g.Addr(), api.Title, spec, api.Handlers, WithTrustedProxies(api.TrustedProxies...))
		if err != nil {
			return err
		}
		p.Defer(conn.Close)
		if api.HTTP.Routes != nil {
			return api.HTTP.Routes(mux)
		}
		return nil
	}
	return p.ServeHTTP(h)
}
