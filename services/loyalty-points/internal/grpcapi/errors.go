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

	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
)

// toStatus is the one place where loyalty-points errors become gRPC
// statuses. Domain errors get their code and a message safe for clients;
// anything else is logged here with the request's trace and answered with a
// generic message, so internal details never reach a client.
func toStatus(ctx context.Context, log *slog.Logger, err error) error {
	var invalid *ledger.InvalidArgumentError
	switch {
	case errors.As(err, &invalid):
		st := status.New(codes.InvalidArgument, invalid.Error())
		if d, derr := st.WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: invalid.Field, Description: invalid.Reason}},
		}); derr == nil {
			st = d
		}
		return st.Err()
	case errors.Is(err, ledger.ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, "missing bearer access token")
	case errors.Is(err, ledger.ErrInvalidToken):
		return status.Error(codes.Unauthenticated, ledger.ErrInvalidToken.Error())
	case errors.Is(err, ledger.ErrForbidden):
		return status.Error(codes.PermissionDenied, ledger.ErrForbidden.Error())
	case errors.Is(err, ledger.ErrNotFound):
		return status.Error(codes.NotFound, ledger.ErrNotFound.Error())
	case errors.Is(err, ledger.ErrInsufficientFunds):
		return precondition("INSUFFICIENT_BALANCE", ledger.ErrInsufficientFunds.Error())
	case errors.Is(err, ledger.ErrBalanceOverflow):
		return precondition("BALANCE_LIMIT", ledger.ErrBalanceOverflow.Error())
	case errors.Is(err, ledger.ErrIdempotencyKeyReused):
		return status.Error(codes.AlreadyExists, ledger.ErrIdempotencyKeyReused.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, ledger.ErrAuthUnavailable):
		log.WarnContext(ctx, "sso unavailable", slog.Any("error", err))
		return status.Error(codes.Unavailable, "authentication service unavailable, retry later")
	case unavailable(err):
		log.WarnContext(ctx, "dependency unavailable", slog.Any("error", err))
		return status.Error(codes.Unavailable, "service temporarily unavailable, retry later")
	default:
		log.ErrorContext(ctx, "internal error", slog.Any("error", err))
		return status.Error(codes.Internal, "internal error")
	}
}

// precondition is FAILED_PRECONDITION with a PreconditionFailure detail
// naming the violated condition, so clients can tell it apart without
// parsing the message.
func precondition(kind, msg string) error {
	st := status.New(codes.FailedPrecondition, msg)
	if d, err := st.WithDetails(&errdetails.PreconditionFailure{
		Violations: []*errdetails.PreconditionFailure_Violation{{Type: kind, Subject: "balance", Description: msg}},
	}); err == nil {
		st = d
	}
	return st.Err()
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
