package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
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

	// The HTTP port's limits (server.HTTPLimits has their reasons). A
	// request's headers must arrive within HTTPReadHeaderTimeout and the
	// whole request within HTTPReadTimeout; the response must be written
	// within HTTPWriteTimeout of the headers, which must exceed the read
	// timeout; an idle keep-alive connection closes after HTTPIdleTimeout;
	// at most HTTPMaxConns connections are open at once.
	HTTPReadHeaderTimeout time.Duration `env:"HTTP_READ_HEADER_TIMEOUT" envDefault:"5s"`
	HTTPReadTimeout       time.Duration `env:"HTTP_READ_TIMEOUT" envDefault:"10s"`
	HTTPWriteTimeout      time.Duration `env:"HTTP_WRITE_TIMEOUT" envDefault:"30s"`
	HTTPIdleTimeout       time.Duration `env:"HTTP_IDLE_TIMEOUT" envDefault:"60s"`
	HTTPMaxHeaderBytes    int           `env:"HTTP_MAX_HEADER_BYTES" envDefault:"16384"`
	HTTPMaxConns          int           `env:"HTTP_MAX_CONNS" envDefault:"512"`
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
	case p.HTTPReadHeaderTimeout <= 0 || p.HTTPReadTimeout <= 0 || p.HTTPIdleTimeout <= 0:
		return fmt.Errorf("%w: %sHTTP_READ_HEADER_TIMEOUT, %[2]sHTTP_READ_TIMEOUT and %[2]sHTTP_IDLE_TIMEOUT must be positive", ErrInvalid, prefix)
	case p.HTTPWriteTimeout <= p.HTTPReadTimeout:
		return fmt.Errorf("%w: %sHTTP_WRITE_TIMEOUT must exceed %[2]sHTTP_READ_TIMEOUT (it counts from the end of the headers, body included)", ErrInvalid, prefix)
	case p.HTTPMaxHeaderBytes < 1024:
		return fmt.Errorf("%w: %sHTTP_MAX_HEADER_BYTES must be at least 1024", ErrInvalid, prefix)
	case p.HTTPMaxConns <= 0:
		return fmt.Errorf("%w: %sHTTP_MAX_CONNS must be positive", ErrInvalid, prefix)
	}
	return nil
}

// API is the configuration of a service that serves an API (gRPC and the
// REST gateway beside it). A service embeds it with its prefix, as it does
// Process.
type API struct {
	// MaxBodyBytes is the largest REST request body, and the largest gRPC
	// request message; beyond it the answer is 413 (RESOURCE_EXHAUSTED
	// over gRPC).
	MaxBodyBytes int64 `env:"HTTP_MAX_BODY_BYTES" envDefault:"65536"`
	// CORSAllowedOrigins are the browser origins (scheme://host[:port])
	// allowed to call the REST API from another site; empty allows none
	// and sends no CORS headers, "*" alone allows any.
	CORSAllowedOrigins []string `env:"CORS_ALLOWED_ORIGINS" envSeparator:","`
	// GRPCMaxConns caps the gRPC connections open at once.
	GRPCMaxConns int `env:"GRPC_MAX_CONNS" envDefault:"256"`
}

// Validate checks the values; prefix is the one the service embeds API
// with.
func (a API) Validate(prefix string) error {
	switch {
	case a.MaxBodyBytes < 1024 || a.MaxBodyBytes > 16<<20:
		return fmt.Errorf("%w: %sHTTP_MAX_BODY_BYTES must be within 1024..16777216", ErrInvalid, prefix)
	case a.GRPCMaxConns <= 0:
		return fmt.Errorf("%w: %sGRPC_MAX_CONNS must be positive", ErrInvalid, prefix)
	}
	for _, o := range a.CORSAllowedOrigins {
		if err := checkOrigin(strings.TrimSpace(o), len(a.CORSAllowedOrigins)); err != nil {
			return fmt.Errorf("%w: %sCORS_ALLOWED_ORIGINS: %v", ErrInvalid, prefix, err)
		}
	}
	return nil
}

// checkOrigin accepts an origin as browsers send it in the Origin header:
// an http or https scheme and a host, no path. Anything else would never
// match, and "null" (sandboxed documents, file: pages) is what an attacker
// can send from anywhere.
func checkOrigin(o string, of int) error {
	if o == "*" {
		if of > 1 {
			return errors.New(`"*" allows every origin and cannot be listed with others`)
		}
		return nil
	}
	if strings.Contains(o, "*") {
		return fmt.Errorf("%q: origins match exactly; list each one, wildcards are not supported", o)
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
		return fmt.Errorf("%q is not an origin: want scheme://host[:port], as in https://app.example.com", o)
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
