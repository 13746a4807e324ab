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
	// Options configure the REST facade's mux (see New), e.g.
	// WithBearerRequired for an API whose every call needs a token.
	Options []Option
	// Title and Spec are the Swagger UI's title and the OpenAPI document
	// (a file of libs/gen/openapi) it shows.
	Title, Spec string
	// HTTP is the HTTP port; the REST facade and the Swagger UI are added
	// to it before HTTP.Routes.
	HTTP server.HTTPConfig
	// TrustedProxies are the proxies whose X-Forwarded-For the facade
	// believes (WithTrustedProxies); none by default.
	TrustedProxies []netip.Prefix
	// MaxBodyBytes bounds a REST request body and a gRPC request message;
	// 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// AllowedOrigins are the browser origins CORS allows; none when empty.
	AllowedOrigins []string
	// GRPCMaxConns caps the gRPC server's connections; 0 means
	// server.DefaultGRPCMaxConns.
	GRPCMaxConns int
}

// ServeAPI adds to p the gRPC server (server.NewGRPC, its metrics on
// api.HTTP.Metrics) and the HTTP server with the REST facade and the
// Swagger UI (Mount) beside health and metrics (Process.ServeHTTP), each
// server within its limits. The facade's connection to the gRPC server is
// closed when p is.
func ServeAPI(ctx context.Context, p *server.Process, api API) error {
	maxBody := api.MaxBodyBytes
	if maxBody == 0 {
		maxBody = DefaultMaxBodyBytes
	}
	grpcMaxConns := api.GRPCMaxConns
	if grpcMaxConns == 0 {
		grpcMaxConns = server.DefaultGRPCMaxConns
	}
	// A request message is never larger in protobuf than the JSON body it
	// was decoded from, so the body limit bounds both transports.
	g, err := server.NewGRPC(api.GRPCAddr, p.Log(), api.HTTP.Metrics, api.Register,
		server.WithMaxRecvMsgSize(int(maxBody)), server.WithMaxConns(grpcMaxConns),
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
		conn, err := Mount(ctx, mux, g.Addr(), Facade{
			Title: api.Title, Spec: spec, Handlers: api.Handlers,
			MaxBodyBytes: maxBody, AllowedOrigins: api.AllowedOrigins, TrustedProxies: api.TrustedProxies,
			Options: api.Options,
		})
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
