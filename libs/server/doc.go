// Package server holds the process plumbing every service shares: the HTTP
// and gRPC servers with their health endpoints and their request metrics
// (rate, errors and duration of every gRPC call and HTTP request, on the
// registry the service serves at /metrics), and Run, which serves them
// until the process is asked to stop and then drains in-flight work within a
// deadline. Business code never touches listeners or signals.
//
// A process has one Prometheus registry (NewRegistry), served at /metrics.
// Whatever makes metrics, here and in the services, takes that registry as
// a prometheus.Registerer in its constructor and registers them there,
// returning the error of a clash (NewGRPC, InstrumentHTTP,
// consumer.NewMetrics, a package's NewMetrics): wiring code never calls
// Register itself, and a metric cannot be built and then forgotten.
//
// Every server bounds what one client can make it hold (HTTPLimits, and
// NewGRPC's bounds): time to send a request, time to answer, header and
// body sizes, and connections open at once, so a slow or greedy client
// costs a bounded share of memory and is cut off within seconds.
package server
