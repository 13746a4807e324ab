package config

import (
	"fmt"
	"time"
)

// Process is the configuration every service process has: logging,
// tracing, profiling and how long stopping may take. A service embeds it in
// its Config with its own prefix, so the variables read the same in every
// service:
//
//	type Config struct {
//		config.Process `envPrefix:"SSO_"` // SSO_LOG_LEVEL, SSO_SHUTDOWN_TIMEOUT, ...
//		GRPCAddr string `env:"SSO_GRPC_ADDR" envDefault:"127.0.0.1:44044"`
//	}
//
// Settings whose defaults differ between services (the API and HTTP
// addresses, each service's own database) stay in the service's Config.
type Process struct {
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`
	// ShutdownTimeout bounds how long in-flight work may finish on stop.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// TraceSampleRatio is the share of new traces recorded (0..1).
	TraceSampleRatio float64 `env:"TRACE_SAMPLE_RATIO" envDefault:"1"`
	// OTLPEndpoint is the host:port of an OTLP/gRPC trace collector (Jaeger,
	// the OpenTelemetry Collector); empty exports no spans.
	OTLPEndpoint string `env:"OTLP_ENDPOINT"`
	// PprofAddr serves Go's profiling endpoints (/debug/pprof/) when set;
	// keep it on loopback.
	PprofAddr string `env:"PPROF_ADDR"`
}

// ProcessConfig returns p: through the embedding, it gives code that runs
// any service (libs/bootstrap) the shared part of the service's Config.
func (p Process) ProcessConfig() Process { return p }

// Validate checks the values; prefix is the one the service embeds Process
// with, so that the error names the variable an operator sets.
func (p Process) Validate(prefix string) error {
	switch {
	case p.ShutdownTimeout <= 0:
		return fmt.Errorf("%w: %sSHUTDOWN_TIMEOUT must be positive", ErrInvalid, prefix)
	case p.TraceSampleRatio < 0 || p.TraceSampleRatio > 1:
		return fmt.Errorf("%w: %sTRACE_SAMPLE_RATIO must be within 0..1", ErrInvalid, prefix)
	}
	return nil
}

// Kafka locates the brokers and the Schema Registry, the same stack for
// every service; embed it with the service's prefix, beside the service's
// own Kafka settings (topics, groups, timeouts).
type Kafka struct {
	// Brokers is the comma-separated bootstrap list.
	Brokers string `env:"KAFKA_BROKERS" envDefault:"127.0.0.1:9092"`
	// SchemaRegistryURL is the Confluent-compatible Schema Registry API.
	SchemaRegistryURL string `env:"SCHEMA_REGISTRY_URL" envDefault:"http://127.0.0.1:8081/apis/ccompat/v7"`
}
