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
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/user"
)

func TestToStatus(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name     string
		err      error
		wantCode codes.Code
		wantMsg  string
	}{
		{"invalid argument", &auth.InvalidArgumentError{Field: "email", Reason: "email is not valid"}, codes.InvalidArgument, "email: email is not valid"},
		{"bad credentials", auth.ErrInvalidCredentials, codes.Unauthenticated, "invalid email or password"},
		{"invalid token", fmt.Errorf("%w: signature", auth.ErrInvalidToken), codes.Unauthenticated, "invalid or expired token"},
		{"refresh reuse looks like any invalid token", auth.ErrRefreshReused, codes.Unauthenticated, "invalid or expired token"},
		{"no bearer", auth.ErrUnauthenticated, codes.Unauthenticated, "missing bearer access token"},
		{"forbidden", auth.ErrForbidden, codes.PermissionDenied, "permission denied"},
		{"duplicate e-mail", fmt.Errorf("create: %w", user.ErrEmailTaken), codes.AlreadyExists, "email already registered"},
		{"missing user", user.ErrNotFound, codes.NotFound, "user not found"},
		{"session not the caller's", auth.ErrSessionNotFound, codes.NotFound, "session not found"},
		{"throttled login", &auth.ThrottledError{Op: "login", RetryAfter: 90 * time.Second}, codes.ResourceExhausted, "too many failed login attempts, try again later"},
		{"throttled registration", &auth.ThrottledError{Op: "register", RetryAfter: 90 * time.Second}, codes.ResourceExhausted, "too many registrations from this address, try again later"},
		{"bad one-time token", fmt.Errorf("postgres: %w", user.ErrTokenInvalid), codes.InvalidArgument, "invalid or expired token"},
		{"unverified login", auth.ErrEmailNotVerified, codes.FailedPrecondition, "email address not verified; follow the link mailed to it or ask for a new one"},
		{"already verified", auth.ErrAlreadyVerified, codes.FailedPrecondition, "email address already verified"},
		{"throttled resend", &auth.ThrottledError{Op: "resend_verification", RetryAfter: time.Minute}, codes.ResourceExhausted, "too many verification mails requested, try again later"},
		{"throttled forgot", &auth.ThrottledError{Op: "forgot_password", RetryAfter: time.Minute}, codes.ResourceExhausted, "too many password reset requests, try again later"},
		{"throttled reset", &auth.ThrottledError{Op: "reset_password", RetryAfter: time.Minute}, codes.ResourceExhausted, "too many password reset attempts, try again later"},
		{"canceled", context.Canceled, codes.Canceled, "request canceled"},
		{"dependency down", fmt.Errorf("redis: %w", refused), codes.Unavailable, "service temporarily unavailable, retry later"},
		{"bug", errors.New("pq: column \"secret_internal\" does not exist"), codes.Internal, "internal error"},
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
			if tt.wantCode == codes.Internal && !strings.Contains(logs.String(), "secret_internal") {
				t.Error("internal error details must be logged")
			}
		})
	}
}

func TestToStatusDetails(t *testing.T) {
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	st := status.Convert(toStatus(context.Background(), log, &auth.ThrottledError{RetryAfter: 42 * time.Second}))
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil || retry.GetRetryDelay().AsDuration() != 42*time.Second {
		t.Fatalf("retry info = %v, want 42s", retry)
	}

	st = status.Convert(toStatus(context.Background(), log, &auth.InvalidArgumentError{Field: "password", Reason: "too short"}))
	var bad *errdetails.BadRequest
	for _, d := range st.Details() {
		if b, ok := d.(*errdetails.BadRequest); ok {
			bad = b
		}
	}
	if bad == nil || len(bad.GetFieldViolations()) != 1 || bad.GetFieldViolations()[0].GetField() != "password" {
		t.Fatalf("bad request details = %v", bad)
	}
}
