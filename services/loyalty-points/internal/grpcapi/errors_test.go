package grpcapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
)

func TestToStatus(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	ssoDown := fmt.Errorf("%w: %w", ledger.ErrAuthUnavailable, status.Error(codes.Unavailable, "connection refused to 10.0.0.7:44044"))
	tests := []struct {
		name     string
		err      error
		wantCode codes.Code
		wantMsg  string
		logged   string // what the log must hold; "" when nothing is logged
	}{
		{"invalid argument", &ledger.InvalidArgumentError{Field: "amount", Reason: "must be positive"}, codes.InvalidArgument, "amount: must be positive", ""},
		{"no token", ledger.ErrUnauthenticated, codes.Unauthenticated, "missing bearer access token", ""},
		{"invalid token", ledger.ErrInvalidToken, codes.Unauthenticated, "invalid or expired token", ""},
		{"not yours", ledger.ErrForbidden, codes.PermissionDenied, "permission denied", ""},
		{"no account", fmt.Errorf("postgres: %w", ledger.ErrNotFound), codes.NotFound, "account not found", ""},
		{"overdrawn", ledger.ErrInsufficientFunds, codes.FailedPrecondition, "insufficient balance", ""},
		{"overflow", ledger.ErrBalanceOverflow, codes.FailedPrecondition, "balance would exceed its maximum", ""},
		{"key reused", ledger.ErrIdempotencyKeyReused, codes.AlreadyExists, "idempotency key already used for a different operation", ""},
		{"canceled", context.Canceled, codes.Canceled, "request canceled", ""},
		{"deadline", fmt.Errorf("postgres: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "deadline exceeded", ""},
		{"sso down", ssoDown, codes.Unavailable, "authentication service unavailable, retry later", "10.0.0.7"},
		{"database down", fmt.Errorf("postgres: %w", refused), codes.Unavailable, "service temporarily unavailable, retry later", "connection refused"},
		{"bug", errors.New(`pq: column "secret_internal" does not exist`), codes.Internal, "internal error", "secret_internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			st, ok := status.FromError(toStatus(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), tt.err))
			if !ok {
				t.Fatal("not a gRPC status")
			}
			if st.Code() != tt.wantCode || st.Message() != tt.wantMsg {
				t.Fatalf("got %v %q, want %v %q", st.Code(), st.Message(), tt.wantCode, tt.wantMsg)
			}
			if tt.logged == "" && logs.Len() > 0 {
				t.Errorf("a client error was logged: %s", logs.String())
			}
			if tt.logged != "" && !strings.Contains(logs.String(), tt.logged) {
				t.Errorf("log %q lacks %q", logs.String(), tt.logged)
			}
		})
	}
}

func TestToStatusDetails(t *testing.T) {
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	st := status.Convert(toStatus(context.Background(), log, &ledger.InvalidArgumentError{Field: "page_size", Reason: "must not be negative"}))
	var bad *errdetails.BadRequest
	for _, d := range st.Details() {
		if b, ok := d.(*errdetails.BadRequest); ok {
			bad = b
		}
	}
	if bad == nil || len(bad.GetFieldViolations()) != 1 || bad.GetFieldViolations()[0].GetField() != "page_size" {
		t.Fatalf("bad request details = %v", bad)
	}

	st = status.Convert(toStatus(context.Background(), log, ledger.ErrInsufficientFunds))
	var pre *errdetails.PreconditionFailure
	for _, d := range st.Details() {
		if p, ok := d.(*errdetails.PreconditionFailure); ok {
			pre = p
		}
	}
	if pre == nil || len(pre.GetViolations()) != 1 || pre.GetViolations()[0].GetType() != "INSUFFICIENT_BALANCE" {
		t.Fatalf("precondition details = %v", pre)
	}
}
