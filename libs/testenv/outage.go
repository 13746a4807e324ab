package testenv

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Outage stands between the process under test and one real dependency
// (PostgreSQL, Mailpit) at an address of its own, so that a test can take
// that dependency away from this process alone, and give it back, without
// touching the shared stack: while it is down nothing listens on the
// address (connections are refused) and the connections it relayed are
// cut.
type Outage struct {
	// Addr is the address to give the process instead of the dependency's.
	Addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
}

// NewOutage returns an Outage in front of target, up, and ends it with t.
func NewOutage(t testing.TB, target string) *Outage {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &Outage{Addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	o.serve(ln)
	t.Cleanup(o.Down)
	return o
}

// Down refuses new connections and cuts the relayed ones.
func (o *Outage) Down() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ln != nil {
		_ = o.ln.Close()
		o.ln = nil
	}
	for c := range o.conns {
		_ = c.Close()
	}
	clear(o.conns)
}

// Up listens on Addr again and relays to the dependency.
func (o *Outage) Up(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		t.Fatalf("outage: listen on %s again: %v", o.Addr, err)
	}
	o.serve(ln)
}

func (o *Outage) serve(ln net.Listener) {
	o.mu.Lock()
	o.ln = ln
	o.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go o.relay(in)
		}
	}()
}

func (o *Outage) relay(in net.Conn) {
	out, err := net.Dial("tcp", o.target)
	if err != nil {
		_ = in.Close()
		return
	}
	if !o.track(in, out) {
		return
	}
	go func() {
		_, _ = io.Copy(out, in)
		_ = out.Close()
	}()
	_, _ = io.Copy(in, out)
	_ = in.Close()
	o.mu.Lock()
	delete(o.conns, in)
	delete(o.conns, out)
	o.mu.Unlock()
}

// track records a relayed pair, or closes it when the outage began
// meanwhile.
func (o *Outage) track(in, out net.Conn) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ln == nil {
		_ = in.Close()
		_ = out.Close()
		return false
	}
	o.conns[in], o.conns[out] = struct{}{}, struct{}{}
	return true
}
