package gateway

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// Traced wraps the REST facade in an HTTP server span, so a REST call
// starts (or, given a traceparent header, continues) the trace that the
// gateway's gRPC client, the service, and anything it publishes to Kafka
// then carry on. Only the API is wrapped: health checks and metric scrapes
// would drown real traces. The span is named by method alone, as the
// semantic conventions ask when the route template is unknown here: paths
// hold user ids, and the gRPC span below names the call.
func Traced(h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, "rest",
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return r.Method
		}),
	)
}
