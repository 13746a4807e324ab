// Package pgerr tells PostgreSQL failures that waiting cures (the server
// cannot be reached, is shutting down, starting up, full of connections,
// read-only during a failover, or aborted a transaction for a conflict)
// from those that no retry of the same statement fixes (bad SQL, a
// violated constraint, a bug). Adapters use it to mark outages, so that
// callers such as the event consumers retry rather than give up.
package pgerr

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// Unavailable reports whether err says the database is unreachable or
// temporarily unable to do the work, so that the same call can succeed
// later without any change.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var netErr net.Error
	if errors.As(err, &netErr) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, driver.ErrBadConn) ||
		// lib/pq's reading of a connection closed under it.
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return false
	}
	switch pqErr.Code.Class() {
	case pqerror.ClassConnectionException, // 08: the connection failed
		pqerror.ClassInsufficientResources: // 53: too many connections, disk full, out of memory
		return true
	}
	switch pqErr.Code {
	case pqerror.AdminShutdown, pqerror.CrashShutdown, pqerror.CannotConnectNow, // restarting
		pqerror.ReadOnlySQLTransaction, // a standby, until the failover promotes one
		pqerror.TRSerializationFailure, pqerror.TRDeadlockDetected:
		return true
	}
	return false
}
