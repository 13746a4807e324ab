// Package server holds the process plumbing every service shares: the HTTP
// and gRPC servers with their health endpoints and their request metrics
// (rate, errors and duration of every gRPC call and HTTP request, on the
// registry the service serves at /metrics), and Run, which serves them
// until the process is asked to stop and then drains in-flight work within a
// deadline. Business code never touches listeners or signals.
package server
