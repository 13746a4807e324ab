package server

import (
	"fmt"
	"net"
	"time"

	"golang.org/x/net/netutil"
)

// HTTPLimits bound what one client can make an HTTP server hold: how long
// it may take to send a request, how long a response may take, how long an
// idle keep-alive connection stays open, how large the headers may be, and
// how many connections are open at once. Zero fields take the value of
// DefaultHTTPLimits.
//
// Together they bound memory: the servers speak HTTP/1.1 only (no h2c), so
// a connection carries at most one request at a time and MaxConns also caps
// the requests in flight; each holds at most its headers and, behind the
// gateway, its body. A client that trickles or withholds its request is cut
// off after ReadHeaderTimeout (headers) or ReadTimeout (the whole request),
// so a slot it holds frees up within seconds.
type HTTPLimits struct {
	// ReadHeaderTimeout bounds reading a request's headers, and how long a
	// new connection may stay silent.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included, from its
	// first byte; a body not received in time ends the connection (the
	// gateway answers 408 first).
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request headers to
	// the end of the response: reading the body, the handler and writing.
	// It must exceed ReadTimeout.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection waiting for its next
	// request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int
	// MaxConns caps the connections open at once. Beyond it the server
	// stops accepting: new connections wait in the kernel's queue until
	// one closes, rather than each costing a goroutine and buffers.
	MaxConns int
}

// DefaultHTTPLimits are the limits of a server whose HTTPLimits leave them
// zero. They suit a JSON API whose slowest call (a password hash waiting
// for its turn) takes seconds, not minutes.
var DefaultHTTPLimits = HTTPLimits{
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       10 * time.Second,
	WriteTimeout:      30 * time.Second,
	IdleTimeout:       time.Minute,
	MaxHeaderBytes:    16 << 10,
	MaxConns:          512,
}

func (l HTTPLimits) withDefaults() HTTPLimits {
	d := DefaultHTTPLimits
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = d.ReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = d.WriteTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	return l
}

// listen listens on addr and accepts at most maxConns connections at once
// (no cap when maxConns is 0).
func listen(name, addr string, maxConns int) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s server: %w", name, err)
	}
	if maxConns > 0 {
		ln = netutil.LimitListener(ln, maxConns)
	}
	return ln, nil
}
