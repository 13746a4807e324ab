package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"go.opentelemetry.io/otel"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/ssokit/platform/libs/telemetry"
	"github.com/ssokit/platform/libs/testenv"
)

// TestSetupExportsOverOTLP checks the whole path a service's spans take:
// created through the global provider, exported over OTLP/gRPC on shutdown,
// received by a collector with the service's name; and the log line written
// inside the span carries the same trace id.
func TestSetupExportsOverOTLP(t *testing.T) {
	collector := testenv.NewSpanCollector(t)
	var logs bytes.Buffer
	log, shutdown, err := telemetry.Setup(context.Background(), &logs, telemetry.Options{
		Service: "probe", LogLevel: "info", SampleRatio: 1, OTLPEndpoint: collector.Endpoint,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := otel.Tracer("probe").Start(context.Background(), "work")
	log.InfoContext(ctx, "inside")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	traceID := span.SpanContext().TraceID().String()
	spans := collector.Trace(traceID)
	if len(spans) != 1 || spans[0].Name != "work" || spans[0].Service != "probe" || spans[0].Kind != tracepb.Span_SPAN_KIND_INTERNAL {
		t.Fatalf("collected %+v, want the one span 'work' of service probe", collector.Spans())
	}
	var rec map[string]any
	if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["trace_id"] != traceID {
		t.Fatalf("log trace_id = %v, want %s", rec["trace_id"], traceID)
	}
}
