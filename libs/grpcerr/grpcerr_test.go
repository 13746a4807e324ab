package grpcerr_test

import (
	"bytes"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/lib/pq"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ssokit/platform/libs/grpcerr"
)

func TestStatus(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name     string
		err      error
		wantCode codes.Code
		wantMsg  string
		logged   string // what the log must hold; "" when nothing is logged
	}{
		{"canceled", fmt.Errorf("redis: %w", context.Canceled), codes.Canceled, "request canceled", ""},
		{"deadline", fmt.Errorf("postgres: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "deadline exceeded", ""},
		{"connection refused", fmt.Errorf("redis: %w", refused), codes.Unavailable, "service temporarily unavailable, retry later", "connection refused"},
		{"bad connection", fmt.Errorf("postgres: %w", driver.ErrBadConn), codes.Unavailable, "service temporarily unavailable, retry later", "bad connection"},
		{"reset", syscall.ECONNRESET, codes.Unavailable, "service temporarily unavailable, retry later", "reset"},
		{"bug", errors.New(`pq: column "secret_internal" does not exist`), codes.Internal, "internal error", "secret_internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			st, ok := status.FromError(grpcerr.Status(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), tt.err))
			if !ok {
				t.Fatal("not a gRPC status")
			}
			if st.Code() != tt.wantCode || st.Message() != tt.wantMsg {
				t.Fatalf("got %v %q, want %v %q", st.Code(), st.Message(), tt.wantCode, tt.wantMsg)
			}
			if tt.logged == "" && logs.Len() > 0 {
				t.Errorf("a client's own error was logged: %s", logs.String())
			}
			if tt.logged != "" && !strings.Contains(logs.String(), tt.logged) {
				t.Errorf("log %q lacks %q", logs.String(), tt.logged)
			}
		})
	}
}

func TestInvalidArgumentNamesTheField(t *testing.T) {
	st := status.Convert(grpcerr.InvalidArgument("email: not an address", "email", "not an address"))
	if st.Code() != codes.InvalidArgument || st.Message() != "email: not an address" {
		t.Fatalf("got %v %q", st.Code(), st.Message())
	}
	var bad *errdetails.BadRequest
	for _, d := range st.Details() {
		if b, ok := d.(*errdetails.BadRequest); ok {
			bad = b
		}
	}
	if bad == nil || len(bad.GetFieldViolations()) != 1 {
		t.Fatalf("bad request details = %v, want one field violation", bad)
	}
	if v := bad.GetFieldViolations()[0]; v.GetField() != "email" || v.GetDescription() != "not an address" {
		t.Fatalf("field violation = %v", v)
	}
}

func TestUnavailable(t *testing.T) {
	for _, err := range []error{
		&net.OpError{Op: "read", Net: "tcp", Err: errors.New("i/o timeout")},
		fmt.Errorf("dial: %w", syscall.ECONNREFUSED),
		driver.ErrBadConn,
		fmt.Errorf("postgres: %w", &pq.Error{Code: "25006"}), // a write on a demoted primary
		&pq.Error{Code: "57P01"},                             // admin shutdown
		&pq.Error{Code: "08006"},                             // connection failure
		fmt.Errorf("open: %w", marked{}),
		fmt.Errorf("redis: Conn is in a bad state: %w", io.EOF), // a held connection broken in a failover
		fmt.Errorf("redis: %w", redisReply("READONLY You can't write against a read only replica.")),
		redisReply("LOADING Redis is loading the dataset in memory"),
	} {
		if !grpcerr.Unavailable(err) {
			t.Errorf("Unavailable(%v) = false, want true", err)
		}
	}
	for _, err := range []error{errors.New("constraint violated"), context.Canceled, &pq.Error{Code: "23505"},
		redisReply("NOSCRIPT No matching script"), errors.New("READONLY is not a Redis reply here")} {
		if grpcerr.Unavailable(err) {
			t.Errorf("Unavailable(%v) = true, want false", err)
		}
	}
}

type marked struct{}

// redisReply is an error reply as go-redis returns it: an error with a
// RedisError marker method.
type redisReply string

func (r redisReply) Error() string { return string(r) }
func (redisReply) RedisError()     {}

func (marked) Error() string     { return "no node can serve" }
func (marked) Unavailable() bool { return true }
