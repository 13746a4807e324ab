package bootstrap

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/ssokit/platform/libs/grpcerr"
)

// Pool lifetimes. PostgreSQL runs as a cluster whose primary can move to
// another node; a DSN listing the nodes with target_session_attrs picks the
// right one only when a connection is made. Recycling connections bounds
// how long a pool keeps using a node whose role changed (a replica pool
// that fell back to the primary returns to the replica once it is back).
const (
	connMaxLifetime = 2 * time.Minute
	connMaxIdleTime = time.Minute
)

// OpenDB opens a PostgreSQL pool of at most maxOpen connections, all of
// which may stay open while idle. It does not connect: the process starts
// while the database is down, and readiness reports it.
//
// A connection that saw an error meaning its server can no longer serve it
// as before (read-only after a demotion, shutting down, connection
// failures) is dropped when it returns to the pool, so the next request
// connects afresh and finds the current primary; the error itself reaches
// the caller, which answers UNAVAILABLE. A failure to connect is reported
// as ErrUnavailable.
func OpenDB(dsn string, maxOpen int) (*sqlx.DB, error) {
	c, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	db := sqlx.NewDb(sql.OpenDB(connector{c}), "postgres")
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	db.SetConnMaxLifetime(connMaxLifetime)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	return db, nil
}

// DBUnavailableError wraps a failure to reach a database node that can
// serve the connection (none answers, or none is the primary yet during a
// failover). Its Unavailable method marks it as a dependency outage rather
// than a bug for the error mappers.
type DBUnavailableError struct{ Err error }

func (e *DBUnavailableError) Error() string     { return fmt.Sprintf("database unavailable: %v", e.Err) }
func (e *DBUnavailableError) Unwrap() error     { return e.Err }
func (e *DBUnavailableError) Unavailable() bool { return true }

type connector struct{ c *pq.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.c.Connect(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &DBUnavailableError{Err: err}
	}
	return &conn{inner: cn}, nil
}

func (c connector) Driver() driver.Driver { return c.c.Driver() }

// conn is pq's connection with a memory of fatal errors. database/sql asks
// IsValid before pooling a connection again and ResetSession before reusing
// it; both refuse a connection that saw a role change or a shutdown.
type conn struct {
	inner driver.Conn
	bad   atomic.Bool
}

func (c *conn) check(err error) error {
	// The errors that mean an outage to clients mean a connection not to
	// reuse: read-only (a demoted primary), shutting down, broken.
	if grpcerr.Unavailable(err) {
		c.bad.Store(true)
	}
	return err
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	st, err := c.inner.Prepare(query)
	return st, c.check(err)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, c.check(err)
	}
	if _, ok := st.(driver.StmtExecContext); !ok {
		return st, nil // COPY FROM STDIN: forwarded as is
	}
	return &stmt{Stmt: st, conn: c}, nil
}

func (c *conn) Close() error { return c.inner.Close() }

func (c *conn) Begin() (driver.Tx, error) {
	tx, err := c.inner.Begin()
	return tx, c.check(err)
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.inner.(driver.ConnBeginTx).BeginTx(ctx, opts)
	return tx, c.check(err)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.inner.(driver.QueryerContext).QueryContext(ctx, query, args)
	return rows, c.check(err)
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.inner.(driver.ExecerContext).ExecContext(ctx, query, args)
	return res, c.check(err)
}

func (c *conn) Ping(ctx context.Context) error {
	return c.check(c.inner.(driver.Pinger).Ping(ctx))
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.inner.(driver.NamedValueChecker).CheckNamedValue(nv)
}

func (c *conn) ResetSession(ctx context.Context) error {
	if c.bad.Load() {
		return driver.ErrBadConn
	}
	return c.inner.(driver.SessionResetter).ResetSession(ctx)
}

func (c *conn) IsValid() bool {
	return !c.bad.Load() && c.inner.(driver.Validator).IsValid()
}

// stmt reports a prepared statement's failures to its connection: the
// services run most of their queries through prepared statements.
type stmt struct {
	driver.Stmt
	conn *conn
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	res, err := s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	return res, s.conn.check(err)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	return rows, s.conn.check(err)
}

func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}
