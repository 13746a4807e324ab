package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ssokit/platform/libs/swaggerui"
)

// RegisterFunc is the shape of the generated Register<Service>Handler
// functions.
type RegisterFunc func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error

// Facade is the REST facade and documentation Mount serves.
type Facade struct {
	// Title and Spec are the Swagger UI's title and OpenAPI document.
	Title string
	Spec  swaggerui.Spec
	// Handlers are the generated Register*Handler functions.
	Handlers []RegisterFunc
	// MaxBodyBytes bounds request bodies (see WithMaxBodyBytes); 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// AllowedOrigins are the browser origins allowed to call the facade
	// from other sites (see CORS); none when empty.
	AllowedOrigins []string
	// TrustedProxies are the proxies whose X-Forwarded-For the facade
	// believes (WithTrustedProxies); none by default.
	TrustedProxies []netip.Prefix
	// Options configure the facade's mux further (see New), e.g.
	// WithBearerRequired.
	Options []Option
}

// Mount serves on mux a service's REST facade and its Swagger UI: the
// routes f's handlers add, under the catch-all "/" (so unknown paths get
// JSON 404s), traced, behind CORS for f.AllowedOrigins, with each call's
// route named after its path template for the HTTP metrics; and f.Spec's UI
// under /swagger/.
//
// The facade calls the gRPC server at grpcAddr over loopback rather than
// in process, so REST calls pass the same interceptors (tracing, recovery,
// metrics) and the same error mapping as gRPC calls. grpcAddr must be this
// process's own server: the connection proves to it that calls come from
// its gateway (see ClientIP), so that it believes the client address they
// carry. The returned connection is the caller's to close.
func Mount(ctx context.Context, mux *http.ServeMux, grpcAddr string, f Facade) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(grpcAddr, append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
	}, proveGateway()...)...)
	if err != nil {
		return nil, fmt.Errorf("gateway connection: %w", err)
	}
	maxBody := f.MaxBodyBytes
	if maxBody == 0 {
		maxBody = DefaultMaxBodyBytes
	}
	gw := New(append([]Option{WithMaxBodyBytes(maxBody), WithTrustedProxies(f.TrustedProxies...)}, f.Options...)...)
	for _, r := range f.Handlers {
		if err := r(ctx, gw, conn); err != nil {
			conn.Close()
			return nil, err
		}
	}
	mux.Handle("/", Traced(CORS(gw, f.AllowedOrigins)))
	mux.Handle("/swagger/", http.StripPrefix("/swagger", swaggerui.Handler(f.Title, f.Spec)))
	return conn, nil
}
