package server

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// LatencyBuckets are the histogram buckets, in seconds, of the request
// duration metrics: from a cached answer (1ms) to a call stuck behind a
// dependency's timeout (10s).
var LatencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// grpcMetrics is the RED of a gRPC server: every call counted by its final
// status code and timed, labelled by service and method. Labels come only
// from the server's registered methods (grpc-go answers calls to unknown
// methods before any interceptor runs), so the series are bounded.
type grpcMetrics struct {
	srv     *grpc.Server // whose methods Collect initialises; set before registration
	handled *prometheus.CounterVec
	seconds *prometheus.HistogramVec
}

func newGRPCMetrics() *grpcMetrics {
	return &grpcMetrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_handled_total",
			Help: "gRPC calls completed by the server, by service, method and status code name (OK, InvalidArgument, Internal, ...).",
		}, []string{"grpc_service", "grpc_method", "grpc_code"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "grpc_server_handling_seconds",
			Help:    "Time from a gRPC call's arrival at the server's interceptors to its completion, by service and method.",
			Buckets: LatencyBuckets,
		}, []string{"grpc_service", "grpc_method"}),
	}
}

// Describe implements prometheus.Collector.
func (m *grpcMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.handled.Describe(ch)
	m.seconds.Describe(ch)
}

// Collect implements prometheus.Collector. It first creates the OK series
// of every method the server serves, so that dashboards and rate() see a
// method from the first scrape, not from its first call. Services are
// registered while the process is wired, before /metrics is served.
func (m *grpcMetrics) Collect(ch chan<- prometheus.Metric) {
	for svc, info := range m.srv.GetServiceInfo() {
		for _, method := range info.Methods {
			m.handled.WithLabelValues(svc, method.Name, "OK")
			m.seconds.WithLabelValues(svc, method.Name)
		}
	}
	m.handled.Collect(ch)
	m.seconds.Collect(ch)
}

func (m *grpcMetrics) observe(fullMethod string, start time.Time, err error) {
	svc, method := splitMethod(fullMethod)
	m.handled.WithLabelValues(svc, method, status.Code(err).String()).Inc()
	m.seconds.WithLabelValues(svc, method).Observe(time.Since(start).Seconds())
}

func (m *grpcMetrics) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := next(ctx, req)
	m.observe(info.FullMethod, start, err)
	return resp, err
}

func (m *grpcMetrics) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	start := time.Now()
	err := next(srv, ss)
	m.observe(info.FullMethod, start, err)
	return err
}

// splitMethod splits "/package.Service/Method".
func splitMethod(fullMethod string) (service, method string) {
	s := strings.TrimPrefix(fullMethod, "/")
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "unknown", s
}
