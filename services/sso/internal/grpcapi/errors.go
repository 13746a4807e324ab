package grpcapi

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ssokit/platform/libs/grpcerr"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/oidc"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// toStatus is the one place where sso errors become gRPC statuses. Domain
// errors get their code and a message safe for clients; the rest
// (cancellation, unreachable dependencies, bugs) is grpcerr.Status's, which
// logs what needs logging and keeps internal details from clients.
func toStatus(ctx context.Context, log *slog.Logger, err error) error {
	var (
		invalid   *auth.InvalidArgumentError
		throttled *auth.ThrottledError
	)
	switch {
	case errors.As(err, &invalid):
		return grpcerr.InvalidArgument(invalid.Error(), invalid.Field, invalid.Reason)
	case errors.As(err, &throttled):
		return grpcerr.WithDetails(status.New(codes.ResourceExhausted, throttled.Message()),
			&errdetails.RetryInfo{RetryDelay: durationpb.New(throttled.RetryAfter)})
	case errors.Is(err, user.ErrTokenInvalid):
		// A one-time token from a link: bad input, not a failed sign-in.
		return grpcerr.InvalidArgument(user.ErrTokenInvalid.Error(), "token", user.ErrTokenInvalid.Error())
	case errors.Is(err, auth.ErrEmailNotVerified):
		return status.Error(codes.FailedPrecondition, "email address not verified; follow the link mailed to it or ask for a new one")
	case errors.Is(err, auth.ErrSelfAdmin):
		return status.Error(codes.FailedPrecondition, auth.ErrSelfAdmin.Error())
	case errors.Is(err, auth.ErrAlreadyVerified):
		return status.Error(codes.FailedPrecondition, auth.ErrAlreadyVerified.Error())
	case errors.Is(err, auth.ErrInvalidCredentials):
		return status.Error(codes.Unauthenticated, auth.ErrInvalidCredentials.Error())
	case errors.Is(err, auth.ErrRefreshReused), errors.Is(err, auth.ErrInvalidToken):
		return status.Error(codes.Unauthenticated, auth.ErrInvalidToken.Error())
	case errors.Is(err, auth.ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, "missing bearer access token")
	case errors.Is(err, auth.ErrForbidden):
		return status.Error(codes.PermissionDenied, "permission denied")
	case errors.Is(err, user.ErrEmailTaken):
		return status.Error(codes.AlreadyExists, "email already registered")
	case errors.Is(err, auth.ErrSessionNotFound):
		return status.Error(codes.NotFound, auth.ErrSessionNotFound.Error())
	case errors.Is(err, user.ErrNotFound):
		return status.Error(codes.NotFound, "user not found")
	case errors.Is(err, oidc.ErrInvalidClient):
		reason := strings.TrimPrefix(strings.TrimPrefix(err.Error(), oidc.ErrInvalidClient.Error()), ": ")
		return grpcerr.InvalidArgument(err.Error(), "client", reason)
	case errors.Is(err, oidc.ErrClientNotFound):
		return status.Error(codes.NotFound, "client not found")
	default:
		return grpcerr.Status(ctx, log, err)
	}
}
