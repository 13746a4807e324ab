package sso_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
	"github.com/ssokit/platform/services/loyalty-points/internal/sso"
)

// stubAuth answers Validate as sso would for a few fixed tokens; the
// adapter's own behaviour (timeouts, error translation) is what is tested.
type stubAuth struct {
	ssov1.UnimplementedAuthServiceServer
}

const user = "0f8fad5b-d9cb-469f-a165-70867728950e"

func (stubAuth) Validate(ctx context.Context, req *ssov1.ValidateRequest) (*ssov1.ValidateResponse, error) {
	switch req.GetToken() {
	case "":
		return nil, status.Error(codes.InvalidArgument, "token: is required")
	case "admin":
		return &ssov1.ValidateResponse{Valid: true, UserId: user, IsAdmin: true}, nil
	case "user":
		return &ssov1.ValidateResponse{Valid: true, UserId: user}, nil
	case "nameless":
		return &ssov1.ValidateResponse{Valid: true}, nil
	case "broken":
		return nil, status.Error(codes.Internal, "internal error")
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	default:
		return &ssov1.ValidateResponse{Valid: false}, nil
	}
}

func dialStub(t *testing.T) *grpc.ClientConn {
	t.Helper()
	ln := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	ssov1.RegisterAuthServiceServer(srv, stubAuth{})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///stub",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestAuthenticate(t *testing.T) {
	a := sso.NewAuthenticator(dialStub(t), 200*time.Millisecond)
	tests := []struct {
		token   string
		want    ledger.Caller
		wantErr error
	}{
		{"admin", ledger.Caller{UserID: user, Admin: true}, nil},
		{"user", ledger.Caller{UserID: user}, nil},
		{"revoked", ledger.Caller{}, ledger.ErrInvalidToken},
		{"", ledger.Caller{}, ledger.ErrInvalidToken},
		{"broken", ledger.Caller{}, ledger.ErrAuthUnavailable},
		{"slow", ledger.Caller{}, ledger.ErrAuthUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			start := time.Now()
			got, err := a.Authenticate(context.Background(), tt.token)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v, %v", got, err, tt.want, tt.wantErr)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v, the timeout is 200ms", d)
			}
		})
	}
	if _, err := a.Authenticate(context.Background(), "nameless"); err == nil || errors.Is(err, ledger.ErrInvalidToken) {
		t.Fatalf("a valid answer without a user id: err = %v, want an internal error", err)
	}
}

func TestAuthenticateReturnsTheCallersContextError(t *testing.T) {
	a := sso.NewAuthenticator(dialStub(t), time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := a.Authenticate(ctx, "slow")
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ledger.ErrAuthUnavailable) {
		t.Fatalf("err = %v, want the caller's DeadlineExceeded", err)
	}
}

func TestAuthenticateWhenSSOIsDown(t *testing.T) {
	// A port nothing listens on: taken, then released.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = sso.NewAuthenticator(conn, time.Second).Authenticate(context.Background(), "any")
	if !errors.Is(err, ledger.ErrAuthUnavailable) {
		t.Fatalf("err = %v, want ErrAuthUnavailable", err)
	}
}
