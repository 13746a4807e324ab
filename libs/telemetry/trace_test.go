package telemetry_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ssokit/platform/libs/telemetry"
)

func TestSamplingFollowsExport(t *testing.T) {
	tests := []struct {
		name          string
		exporters     []sdktrace.SpanExporter
		wantRecording bool
	}{
		{"no exporter: ids only", nil, false},
		{"exporter: recorded", []sdktrace.SpanExporter{tracetest.NewInMemoryExporter()}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shutdown, err := telemetry.SetupTracing(context.Background(), telemetry.TraceConfig{
				Service: "probe", SampleRatio: 1, Exporters: tt.exporters,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer shutdown(context.Background())
			_, span := otel.Tracer("probe").Start(context.Background(), "work")
			defer span.End()
			if span.IsRecording() != tt.wantRecording {
				t.Fatalf("recording = %v, want %v", span.IsRecording(), tt.wantRecording)
			}
			if !span.SpanContext().TraceID().IsValid() {
				t.Fatal("span has no trace id: logs and Kafka headers would lose correlation")
			}
		})
	}
}
