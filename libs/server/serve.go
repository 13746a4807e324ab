package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTPConfig is what a service's HTTP port serves: /healthz and /readyz
// from the process's health and /metrics from Metrics, plus the service's
// own Routes, with every request counted and timed (InstrumentHTTP).
type HTTPConfig struct {
	Addr string
	// PprofAddr serves Go's profiling endpoints on a port of their own when
	// set (see NewPprof).
	PprofAddr string
	// Metrics is the process's registry: served at /metrics and where the
	// request metrics are registered.
	Metrics *prometheus.Registry
	// Routes, when set, adds the service's own routes to the mux.
	Routes func(*http.ServeMux) error
	// Limits bound the port's clients; zero fields take DefaultHTTPLimits.
	Limits HTTPLimits
}

// ServeHTTP adds the HTTP server c describes to p's servers, and the
// profiling server when c.PprofAddr is set.
func (p *Process) ServeHTTP(c HTTPConfig) error {
	mux := NewMux(p.health, c.Metrics)
	if c.Routes != nil {
		if err := c.Routes(mux); err != nil {
			return err
		}
	}
	handler, err := InstrumentHTTP(c.Metrics, mux)
	if err != nil {
		return err
	}
	srv, err := NewHTTP("http", c.Addr, handler, c.Limits)
	if err != nil {
		return err
	}
	p.Serve(srv)
	return p.ServePprof(c.PprofAddr)
}
