// Package bearer reads the OAuth 2.0 bearer token of an incoming gRPC call.
// Native gRPC clients send it as "authorization: Bearer <token>" metadata,
// and the REST gateway forwards the HTTP Authorization header the same way,
// so one reader serves both transports.
package bearer

import (
	"context"
	"strings"

	"google.golang.org/grpc/metadata"
)

// Token returns the token of the call's first "authorization" value whose
// scheme is Bearer (in any case), or "" when there is none; the use cases
// answer a missing token themselves.
func Token(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
		if ok && strings.EqualFold(scheme, "bearer") {
			return strings.TrimSpace(tok)
		}
	}
	return ""
}
