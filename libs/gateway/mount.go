package gateway

import (
	"context"
	"fmt"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ssokit/platform/libs/swaggerui"
)

// RegisterFunc is the shape of the generated Register<Service>Handler
// functions.
type RegisterFunc func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error

// Mount serves on mux a service's REST facade and its Swagger UI: the
// routes the register functions add, under the catch-all "/" (so unknown
// paths get JSON 404s), traced, with each call's route named after its path
// template for the HTTP metrics; and spec's UI under /swagger/.
//
// The facade calls the gRPC server at grpcAddr over loopback rather than
// in process, so REST calls pass the same interceptors (tracing, recovery,
// metrics) and the same error mapping as gRPC calls, and ClientIP can trust
// the address the gateway forwards. The returned connection is the caller's
// to close.
func Mount(ctx context.Context, mux *http.ServeMux, grpcAddr, title string, spec swaggerui.Spec, register ...RegisterFunc) (*grpc.ClientConn, error) {
	return MountWith(ctx, mux, grpcAddr, title, spec, register, nil)
}

// MountWith is Mount with options for the facade's mux (see New).
func MountWith(ctx context.Context, mux *http.ServeMux, grpcAddr, title string, spec swaggerui.Spec, register []RegisterFunc, opts []Option) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(grpcAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
	)
	if err != nil {
		return nil, fmt.Errorf("gateway connection: %w", err)
	}
	gw := New(opts...)
	for _, r := range register {
		if err := r(ctx, gw, conn); err != nil {
			conn.Close()
			return nil, err
		}
	}
	mux.Handle("/", Traced(gw))
	mux.Handle("/swagger/", http.StripPrefix("/swagger", swaggerui.Handler(title, spec)))
	return conn, nil
}
