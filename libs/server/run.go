package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
)

// Server is one listener of a process: started by Serve, stopped by Shutdown.
type Server interface {
	// Name identifies the server in logs ("grpc", "http").
	Name() string
	// Addr is the address it listens on.
	Addr() string
	// Serve blocks until the server stops; it returns nil after Shutdown.
	Serve() error
	// Shutdown stops accepting work and waits for in-flight work until ctx
	// is done, then stops hard.
	Shutdown(ctx context.Context) error
}

// Process is one service's running parts: its servers, its background
// workers (consumers, relays) and the resources to release once both have
// stopped. A service's wiring fills one in; Run drives its whole life.
type Process struct {
	log     *slog.Logger
	health  *Health
	drain   time.Duration
	servers []Server
	workers []worker
	closers []func() error
}

type worker struct {
	name string
	run  func(context.Context) error
}

// NewProcess returns an empty Process whose shutdown may take up to drain.
func NewProcess(log *slog.Logger, health *Health, drain time.Duration) *Process {
	return &Process{log: log, health: health, drain: drain}
}

// Log is the process's logger.
func (p *Process) Log() *slog.Logger { return p.log }

// Health is the process's health, which readiness reports and shutdown
// turns unready.
func (p *Process) Health() *Health { return p.health }

// Serve adds a server.
func (p *Process) Serve(s Server) { p.servers = append(p.servers, s) }

// Addr returns the address the named server listens on, or "" if there is
// none; useful when a port was chosen by the system (":0").
func (p *Process) Addr(name string) string {
	for _, s := range p.servers {
		if s.Name() == name {
			return s.Addr()
		}
	}
	return ""
}

// Go adds a background worker. run must return soon after its context is
// cancelled, having finished or abandoned (without losing) in-flight work.
func (p *Process) Go(name string, run func(context.Context) error) {
	p.workers = append(p.workers, worker{name, run})
}

// Defer adds a resource release, run after servers and workers stop, in
// reverse order of addition.
func (p *Process) Defer(close func() error) { p.closers = append(p.closers, close) }

// Close releases the deferred resources; Run calls it, and wiring code calls
// it when building the process fails halfway.
func (p *Process) Close() error {
	var errs []error
	for i := len(p.closers) - 1; i >= 0; i-- {
		errs = append(errs, p.closers[i]())
	}
	p.closers = nil
	return errors.Join(errs...)
}

// Run serves until ctx is cancelled or a server or worker fails. Then
// readiness turns false, servers drain in-flight requests and workers finish
// their current message, all within the drain deadline, and finally the
// deferred resources are released.
func (p *Process) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range p.servers {
		g.Go(func() error {
			p.log.InfoContext(ctx, "listening", slog.String("server", s.Name()), slog.String("addr", s.Addr()))
			if err := s.Serve(); err != nil {
				return fmt.Errorf("%s server: %w", s.Name(), err)
			}
			return nil
		})
	}
	for _, w := range p.workers {
		g.Go(func() error {
			if err := w.run(gctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("%s: %w", w.name, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		if p.health != nil {
			p.health.ShuttingDown()
		}
		p.log.InfoContext(ctx, "shutting down", slog.String("drain", p.drain.String()))
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.drain)
		defer cancel()
		var errs []error
		for _, s := range p.servers {
			if err := s.Shutdown(sctx); err != nil {
				errs = append(errs, fmt.Errorf("%s server shutdown: %w", s.Name(), err))
			}
		}
		return errors.Join(errs...)
	})
	err := g.Wait()
	return errors.Join(err, p.Close())
}

// HTTP is a Server for an http.Handler.
type HTTP struct {
	name string
	ln   net.Listener
	srv  *http.Server
}

// NewHTTP listens on addr right away, so a busy port fails at wiring time
// rather than after the process reports itself started. The server holds
// to limits (see HTTPLimits; zero fields take the defaults).
func NewHTTP(name, addr string, h http.Handler, limits HTTPLimits) (*HTTP, error) {
	l := limits.withDefaults()
	if l.WriteTimeout <= l.ReadTimeout {
		return nil, fmt.Errorf("%s server: write timeout %s must exceed read timeout %s", name, l.WriteTimeout, l.ReadTimeout)
	}
	ln, err := listen(name, addr, l.MaxConns)
	if err != nil {
		return nil, err
	}
	return &HTTP{
		name: name,
		ln:   ln,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: l.ReadHeaderTimeout,
			ReadTimeout:       l.ReadTimeout,
			WriteTimeout:      l.WriteTimeout,
			IdleTimeout:       l.IdleTimeout,
			MaxHeaderBytes:    l.MaxHeaderBytes,
		},
	}, nil
}

func (s *HTTP) Name() string { return s.name }
func (s *HTTP) Addr() string { return s.ln.Addr().String() }

func (s *HTTP) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *HTTP) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// GRPC is the gRPC server of a process; NewGRPC builds it.
type GRPC struct {
	ln     net.Listener
	srv    *grpc.Server
	health *health.Server
}

func (s *GRPC) Name() string { return "grpc" }
func (s *GRPC) Addr() string { return s.ln.Addr().String() }

func (s *GRPC) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// Shutdown lets in-flight RPCs finish until ctx is done, then cancels them.
func (s *GRPC) Shutdown(ctx context.Context) error {
	s.health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.srv.Stop()
		<-done
		return ctx.Err()
	}
}
