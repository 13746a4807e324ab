package grpcapi

import (
	"context"

	"github.com/ssokit/platform/libs/gateway"
)

// clientIP is the caller's address for per-address throttling.
func clientIP(ctx context.Context) string { return gateway.ClientIP(ctx) }
