// Package telemetry bootstraps what every service needs to be observable:
// structured JSON logs correlated with traces, and the OpenTelemetry tracer
// provider and propagators that carry one trace across gRPC, HTTP and Kafka.
package telemetry
