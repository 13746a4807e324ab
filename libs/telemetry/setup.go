package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Options is what a service says about its own telemetry.
type Options struct {
	// Service names the service in logs and traces.
	Service string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// SampleRatio is the share of new traces recorded (0..1).
	SampleRatio float64
	// OTLPEndpoint is the host:port of an OTLP/gRPC collector (Jaeger, the
	// OpenTelemetry Collector); empty exports no spans.
	OTLPEndpoint string
}

// Setup builds a service's logger and installs its tracing. The returned
// shutdown flushes spans still buffered; call it on exit.
func Setup(ctx context.Context, w io.Writer, o Options) (*slog.Logger, func(context.Context) error, error) {
	log := NewLogger(w, o.Service, ParseLevel(o.LogLevel))
	cfg := TraceConfig{Service: o.Service, SampleRatio: o.SampleRatio}
	if o.OTLPEndpoint != "" {
		exp, err := otlptracegrpc.New(ctx,
			otlptracegrpc.WithEndpoint(o.OTLPEndpoint),
			otlptracegrpc.WithInsecure(),
		)
		if err != nil {
			return nil, nil, fmt.Errorf("otlp exporter: %w", err)
		}
		cfg.Exporters = []sdktrace.SpanExporter{exp}
	}
	shutdown, err := SetupTracing(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	return log, shutdown, nil
}
