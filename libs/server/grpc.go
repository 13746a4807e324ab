package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
)

// GRPCOption adjusts the server NewGRPC builds.
type GRPCOption func(*grpcOptions)

type grpcOptions struct {
	unary    []grpc.UnaryServerInterceptor
	maxRecv  int
	maxConns int
}

// Defaults of the gRPC server's bounds; see NewGRPC.
const (
	// DefaultGRPCMaxRecvMsgBytes is sized to the APIs: their largest
	// request is a few short strings, far below grpc-go's 4 MiB.
	DefaultGRPCMaxRecvMsgBytes = 64 << 10
	// DefaultGRPCMaxConns caps the connections open at once. gRPC clients
	// (the gateway, other services) multiplex many calls on few of them.
	DefaultGRPCMaxConns = 256
)

// WithMaxRecvMsgSize sets the largest request message accepted; larger
// ones fail with RESOURCE_EXHAUSTED before a handler runs.
func WithMaxRecvMsgSize(n int) GRPCOption {
	return func(o *grpcOptions) { o.maxRecv = n }
}

// WithMaxConns caps the connections open at once; further ones wait
// until one closes.
func WithMaxConns(n int) GRPCOption {
	return func(o *grpcOptions) { o.maxConns = n }
}

// WithUnaryInterceptors adds interceptors that run inside panic recovery,
// after the ones every server has.
func WithUnaryInterceptors(i ...grpc.UnaryServerInterceptor) GRPCOption {
	return func(o *grpcOptions) { o.unary = append(o.unary, i...) }
}

// NewGRPC returns the process's gRPC server, listening on addr right away
// (see NewHTTP), with the service's handlers added by register and what
// every service wants: OpenTelemetry spans for each call; metrics for each
// call registered on reg (grpc_server_handled_total and
// grpc_server_handling_seconds, by grpc_service and grpc_method; the OK
// series of every registered method exist from the first scrape); panic
// recovery (a panic becomes an INTERNAL error with the stack in the log,
// never a dead process, and is counted as Internal); the standard
// grpc.health.v1 service, SERVING until shutdown begins; and server
// reflection, so grpcurl works without .proto files. It fails when addr
// cannot be listened on or reg already holds the gRPC metrics.
//
// The server bounds what a client can make it hold (grpc-go's defaults
// allow 4 MiB messages, 16 MiB of headers and unlimited streams per
// connection): request messages up to DefaultGRPCMaxRecvMsgBytes (see
// WithMaxRecvMsgSize), 16 KiB of headers, 100 concurrent calls per
// connection, DefaultGRPCMaxConns connections (see WithMaxConns), 10 s for
// a new connection's handshake; clients may ping at most every 10 s, and a
// silent peer is probed after a minute and dropped 20 s later.
func NewGRPC(addr string, log *slog.Logger, reg prometheus.Registerer, register func(grpc.ServiceRegistrar), opts ...GRPCOption) (*GRPC, error) {
	o := grpcOptions{maxRecv: DefaultGRPCMaxRecvMsgBytes, maxConns: DefaultGRPCMaxConns}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxRecv <= 0 || o.maxConns <= 0 {
		return nil, fmt.Errorf("grpc server: message size and connection limits must be positive")
	}
	// The interceptors exist before the server they are options of; the
	// server is set before the metrics are registered, so before any
	// collection.
	metrics := newGRPCMetrics()
	unary := append([]grpc.UnaryServerInterceptor{metrics.unary, recoverUnary(log)}, o.unary...)
	srv := grpc.NewServer(
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.NumStreamWorkers(streamWorkers),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(metrics.stream, recoverStream(log)),
		grpc.MaxRecvMsgSize(o.maxRecv),
		grpc.MaxHeaderListSize(16<<10),
		grpc.MaxConcurrentStreams(100),
		grpc.ConnectionTimeout(10*time.Second),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: time.Minute, Timeout: 20 * time.Second}),
	)
	metrics.srv = srv
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	if register != nil {
		register(srv)
	}
	if err := reg.Register(metrics); err != nil {
		return nil, fmt.Errorf("grpc server metrics: %w", err)
	}
	ln, err := listen("grpc", addr, o.maxConns)
	if err != nil {
		reg.Unregister(metrics)
		return nil, err
	}
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	return &GRPC{ln: ln, srv: srv, health: hs}, nil
}

// streamWorkers is how many long-lived goroutines serve calls. Without
// workers, grpc-go starts a goroutine per call, whose small initial stack
// then grows by copying as the handler runs (signature checks need several
// KiB): in a profile of sso's Validate at 10,000 calls/s that copying was a
// tenth of the CPU. A worker keeps its grown stack; calls beyond the pool
// still get a goroutine of their own.
const streamWorkers = 64

func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(ctx, "panic in handler",
					slog.String("method", info.FullMethod),
					slog.Any("panic", p),
					slog.String("stack", string(debug.Stack())))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return next(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(ss.Context(), "panic in handler",
					slog.String("method", info.FullMethod),
					slog.Any("panic", p),
					slog.String("stack", string(debug.Stack())))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return next(srv, ss)
	}
}
