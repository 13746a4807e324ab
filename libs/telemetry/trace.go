package telemetry

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// TraceConfig says how a service samples and where its spans go.
type TraceConfig struct {
	// Service is the service.name resource attribute.
	Service string
	// SampleRatio is the share of new traces recorded, 0..1; a span whose
	// parent was sampled is always sampled, so a trace is never cut in half.
	SampleRatio float64
	// Exporters receive finished spans. With none, spans are not recorded
	// at all: they still carry trace ids into logs and Kafka headers, but
	// cost next to nothing on hot paths such as token validation.
	Exporters []sdktrace.SpanExporter
}

// SetupTracing installs a global tracer provider and the W3C trace-context
// and baggage propagators. The returned function flushes and stops the
// provider; call it on shutdown.
func SetupTracing(ctx context.Context, cfg TraceConfig) (shutdown func(context.Context) error, err error) {
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(cfg.Service)),
		resource.WithProcessPID(),
		resource.WithHost(),
	)
	if err != nil {
		return nil, err
	}
	sampler := sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))
	if len(cfg.Exporters) == 0 {
		sampler = sdktrace.NeverSample()
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler),
	}
	for _, e := range cfg.Exporters {
		opts = append(opts, sdktrace.WithBatcher(e))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{},
	))
	return tp.Shutdown, nil
}
