// Package otelkafka carries OpenTelemetry traces across Kafka: a producer
// span whose context travels in the message headers, and a consumer span
// that continues the producer's trace, so one registration is one trace
// from the HTTP request to the e-mail and the bonus.
//
// It uses the global TracerProvider and TextMapPropagator (installed by
// telemetry.SetupTracing), names spans "<topic> publish" and
// "<topic> process", and sets the OpenTelemetry messaging semantic
// convention attributes (messaging.system=kafka, destination, operation,
// message key, partition, offset, consumer group, and messaging.message.id
// from the "event_id" header when the producer set one).
package otelkafka
