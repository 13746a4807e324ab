package server

import (
	"net/http"
	"net/http/pprof"
	"time"
)

// NewPprof returns a server for Go's profiling endpoints under
// /debug/pprof/ on addr. It is opt-in and separate from the service's main
// HTTP port: profiles reveal internals and cost CPU, so they are bound to an
// address operators choose (loopback), never exposed beside the API.
func NewPprof(addr string) (*HTTP, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// A CPU profile or trace streams for as long as asked (30 s by
	// default), and net/http/pprof refuses durations beyond WriteTimeout.
	return NewHTTP("pprof", addr, mux, HTTPLimits{WriteTimeout: 5 * time.Minute})
}

// ServePprof serves the profiling endpoints ([NewPprof]) on addr as one of
// p's servers, and nothing when addr is empty: the services' switch for it.
func (p *Process) ServePprof(addr string) error {
	if addr == "" {
		return nil
	}
	pp, err := NewPprof(addr)
	if err != nil {
		return err
	}
	p.Serve(pp)
	return nil
}
