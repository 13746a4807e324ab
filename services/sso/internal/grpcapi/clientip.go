package grpcapi

import (
	"context"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"

	"github.com/ssokit/platform/libs/gateway"
)

// clientIP is the caller's address for per-address throttling.
func clientIP(ctx context.Context) string { return gateway.ClientIP(ctx) }

// userAgent is the caller's User-Agent, as recorded with the sessions it
// opens: the HTTP client's when the call came through the gateway (which
// forwards it under its own prefix, the gRPC user-agent then being the
// gateway's), the gRPC client's otherwise. It is what the client says it
// is and nothing more; the use case bounds and cleans it.
func userAgent(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, key := range []string{runtime.MetadataPrefix + "user-agent", "user-agent"} {
		if vs := md.Get(key); len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}
