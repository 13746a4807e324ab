package grpcapi

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ssokit/platform/libs/grpcerr"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
)

// toStatus is the one place where loyalty-points errors become gRPC
// statuses. Domain errors get their code and a message safe for clients;
// the rest (cancellation, unreachable dependencies, bugs) is
// grpcerr.Status's, which logs what needs logging and keeps internal
// details from clients.
func toStatus(ctx context.Context, log *slog.Logger, err error) error {
	var invalid *ledger.InvalidArgumentError
	switch {
	case errors.As(err, &invalid):
		return grpcerr.InvalidArgument(invalid.Error(), invalid.Field, invalid.Reason)
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
	case errors.Is(err, ledger.ErrAccountClosed):
		return grpcerr.WithDetails(status.New(codes.FailedPrecondition, ledger.ErrAccountClosed.Error()), &errdetails.PreconditionFailure{
			Violations: []*errdetails.PreconditionFailure_Violation{{Type: "ACCOUNT_CLOSED", Subject: "account", Description: ledger.ErrAccountClosed.Error()}},
		})
	case errors.Is(err, ledger.ErrBalanceOverflow):
		return precondition("BALANCE_LIMIT", ledger.ErrBalanceOverflow.Error())
	case errors.Is(err, ledger.ErrIdempotencyKeyReused):
		return status.Error(codes.AlreadyExists, ledger.ErrIdempotencyKeyReused.Error())
	case errors.Is(err, ledger.ErrAuthUnavailable):
		// The authenticator returns the caller's own cancellation bare, so
		// this is sso failing, never the client giving up.
		log.WarnContext(ctx, "sso unavailable", slog.Any("error", err))
		return status.Error(codes.Unavailable, "authentication service unavailable, retry later")
	default:
		return grpcerr.Status(ctx, log, err)
	}
}

// precondition is FAILED_PRECONDITION with a PreconditionFailure detail
// naming the violated condition, so clients can tell it apart without
// parsing the message.
func precondition(kind, msg string) error {
	return grpcerr.WithDetails(status.New(codes.FailedPrecondition, msg), &errdetails.PreconditionFailure{
		Violations: []*errdetails.PreconditionFailure_Violation{{Type: kind, Subject: "balance", Description: msg}},
	})
}
