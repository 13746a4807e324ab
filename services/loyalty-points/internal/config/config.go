// Package config is the loyalty-points service's typed configuration, read
// once at start from LOYALTY_* environment variables (and the optional
// CONFIG_FILE). The defaults run against the stack that deploy/local starts.
package config

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/ssokit/platform/libs/config"
)

// Config is everything the loyalty-points process can be told.
type Config struct {
	// GRPCAddr serves the gRPC API.
	GRPCAddr string `env:"LOYALTY_GRPC_ADDR" envDefault:"127.0.0.1:44045"`
	// HTTPAddr serves the REST gateway, Swagger UI, health and metrics.
	HTTPAddr string `env:"LOYALTY_HTTP_ADDR" envDefault:"127.0.0.1:8001"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"LOYALTY_LOG_LEVEL" envDefault:"info"`
	// ShutdownTimeout bounds how long in-flight work may finish on stop.
	ShutdownTimeout time.Duration `env:"LOYALTY_SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// TraceSampleRatio is the share of new traces recorded (0..1).
	TraceSampleRatio float64 `env:"LOYALTY_TRACE_SAMPLE_RATIO" envDefault:"1"`

	// DBDSN locates the service's own PostgreSQL database.
	DBDSN string `env:"LOYALTY_DB_DSN" envDefault:"postgres://postgres:postgres@127.0.0.1:5432/loyalty?sslmode=disable"`
	// SSOAddr is sso's gRPC API, which authenticates callers.
	SSOAddr string `env:"LOYALTY_SSO_GRPC_ADDR" envDefault:"127.0.0.1:44044"`

	Kafka Kafka
}

// Kafka locates the brokers and the Schema Registry the events come through.
type Kafka struct {
	Brokers           string `env:"LOYALTY_KAFKA_BROKERS" envDefault:"127.0.0.1:9092"`
	SchemaRegistryURL string `env:"LOYALTY_SCHEMA_REGISTRY_URL" envDefault:"http://127.0.0.1:8081/apis/ccompat/v7"`
}

// Load reads and validates the configuration.
func Load() (Config, error) {
	var c Config
	err := config.Load(&c)
	return c, err
}

// Validate rejects values that would only fail later, at a worse moment.
func (c *Config) Validate() error {
	switch {
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("%w: LOYALTY_SHUTDOWN_TIMEOUT must be positive", config.ErrInvalid)
	case c.TraceSampleRatio < 0 || c.TraceSampleRatio > 1:
		return fmt.Errorf("%w: LOYALTY_TRACE_SAMPLE_RATIO must be within 0..1", config.ErrInvalid)
	case c.DBDSN == "":
		return fmt.Errorf("%w: LOYALTY_DB_DSN is required", config.ErrInvalid)
	case c.Kafka.Brokers == "":
		return fmt.Errorf("%w: LOYALTY_KAFKA_BROKERS is required", config.ErrInvalid)
	}
	return nil
}

// LogValue keeps the database password out of the start-up log.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("grpc_addr", c.GRPCAddr),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("log_level", c.LogLevel),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()),
		slog.String("db", config.RedactURL(c.DBDSN)),
		slog.String("sso_addr", c.SSOAddr),
		slog.String("kafka_brokers", c.Kafka.Brokers),
		slog.String("schema_registry", config.RedactURL(c.Kafka.SchemaRegistryURL)),
	)
}
