// Package grpcerr holds the part of turning errors into gRPC statuses that
// every service shares. Each service keeps its own switch over its domain
// errors, where it decides codes and safe public messages, and hands what it
// does not recognise to Status, so cancellations, unreachable dependencies
// and bugs are answered the same way by every API.
package grpcerr

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// InvalidArgument is INVALID_ARGUMENT with msg and a BadRequest detail
// naming the refused field and why, so clients can point at the field
// without parsing the message.
func InvalidArgument(msg, field, reason string) error {
	return WithDetails(status.New(codes.InvalidArgument, msg), &errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: reason}},
	})
}

// WithDetails returns st with details attached. A detail that cannot be
// encoded is dropped rather than turning a client error into an internal
// one: the code and message still say what went wrong.
func WithDetails(st *status.Status, details ...protoadapt.MessageV1) error {
	if d, err := st.WithDetails(details...); err == nil {
		st = d
	}
	return st.Err()
}

// Status maps the errors no service owns: a cancelled or timed-out request
// keeps its meaning (CANCELED, DEADLINE_EXCEEDED); an unreachable
// dependency is UNAVAILABLE, which clients may retry, and is logged as a
// warning; anything else is a bug, logged with the request's trace and
// answered INTERNAL with a generic message, so internal details never reach
// a client. A client's own errors are not logged.
func Status(ctx context.Context, log *slog.Logger, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case Unavailable(err):
		log.WarnContext(ctx, "dependency unavailable", slog.Any("error", err))
		return status.Error(codes.Unavailable, "service temporarily unavailable, retry later")
	default:
		log.ErrorContext(ctx, "internal error", slog.Any("error", err))
		return status.Error(codes.Internal, "internal error")
	}
}

// Unavailable reports whether err means a dependency could not be reached
// (refused or reset connections, network errors, a connection the database
// driver gave up on, an error that says so through an Unavailable method),
// or that PostgreSQL cannot serve it right now: a write reaching a node
// that has just become a replica (read_only_sql_transaction, during a
// failover), a server shutting down or starting, a connection exception.
// Anything else is a bug.
func Unavailable(err error) bool {
	var netErr *net.OpError
	var marked interface{ Unavailable() bool }
	return errors.As(err, &netErr) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, driver.ErrBadConn) ||
		// A connection the server closed under a request: go-redis reports
		// a held connection that broke in a failover as "Conn is in a bad
		// state: EOF".
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		(errors.As(err, &marked) && marked.Unavailable()) ||
		pgUnavailable(err) || redisUnavailable(err)
}

// redisUnavailable reports whether err is a Redis reply that means "not
// now": a node that became a replica refusing a write (READONLY), one
// still loading its data (LOADING), a master cut off from its replicas
// (MASTERDOWN, NOREPLICAS) or a cluster slot moving (TRYAGAIN).
func redisUnavailable(err error) bool {
	var reply interface{ RedisError() }
	if !errors.As(err, &reply) {
		return false
	}
	msg := err.Error()
	for _, prefix := range []string{"READONLY ", "LOADING ", "MASTERDOWN ", "NOREPLICAS ", "TRYAGAIN "} {
		if strings.Contains(msg, prefix) {
			return true
		}
	}
	return false
}

func pgUnavailable(err error) bool {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return false
	}
	switch pqErr.Code {
	case pqerror.ReadOnlySQLTransaction, pqerror.AdminShutdown, pqerror.CrashShutdown, pqerror.CannotConnectNow:
		return true
	}
	return pqErr.Code.Class() == pqerror.ClassConnectionException
}
