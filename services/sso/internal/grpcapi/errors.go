package grpcapi

import (
	"context"
	"database/sql/driver"
	"errors"
	"log/slog"
	"net"
	"syscall"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// toStatus is the one place where sso errors become gRPC statuses. Domain
// errors get their code and a message safe for clients; anything else is
// logged here with the request's trace and answered with a generic message,
// so internal details never reach a client.
func toStatus(ctx context.Context, log *slog.Logger, err error) error {
	var (
		invalid   *auth.InvalidArgumentError
		throttled *auth.ThrottledError
	)
	switch {
	case errors.As(err, &invalid):
		st := status.New(codes.InvalidArgument, invalid.Error())
		if d, derr := st.WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: invalid.Field, Description: invalid.Reason}},
		}); derr == nil {
			st = d
		}
		return st.Err()
	case errors.As(err, &throttled):
		st := status.New(codes.ResourceExhausted, "too many failed login attempts, try again later")
		if d, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(throttled.RetryAfter)}); derr == nil {
			st = d
		}
		return st.Err()
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
	case errors.Is(err, user.ErrNotFound):
		return status.Error(codes.NotFound, "user not found")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case unavailable(err):
		log.WarnContext(ctx, "dependency unavailable", slog.Any("error", err))
		return status.Error(codes.Unavailable, "service temporarily unavailable, retry later")
	default:
		log.ErrorContext(ctx, "internal error", slog.Any("error", err))
		return status.Error(codes.Internal, "internal error")
	}
}

// unavailable reports whether err means a dependency could not be reached,
// which clients may retry, as opposed to a bug.
func unavailable(err error) bool {
	var netErr *net.OpError
	return errors.As(err, &netErr) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, driver.ErrBadConn)
}
