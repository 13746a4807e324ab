// Package config is the welcome-notifier's typed configuration, read once at
// start from NOTIFIER_* environment variables (and the optional CONFIG_FILE).
// The defaults run against the stack that deploy/local starts.
package config

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/ssokit/platform/libs/config"
)

// Config is everything the welcome-notifier process can be told.
type Config struct {
	// HTTPAddr serves health and metrics.
	HTTPAddr string `env:"NOTIFIER_HTTP_ADDR" envDefault:"127.0.0.1:8002"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"NOTIFIER_LOG_LEVEL" envDefault:"info"`
	// ShutdownTimeout bounds how long in-flight work may finish on stop.
	ShutdownTimeout time.Duration `env:"NOTIFIER_SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// TraceSampleRatio is the share of new traces recorded (0..1).
	TraceSampleRatio float64 `env:"NOTIFIER_TRACE_SAMPLE_RATIO" envDefault:"1"`

	Kafka Kafka
	SMTP  SMTP
}

// Kafka locates the brokers and the Schema Registry the events come through.
type Kafka struct {
	Brokers           string `env:"NOTIFIER_KAFKA_BROKERS" envDefault:"127.0.0.1:9092"`
	SchemaRegistryURL string `env:"NOTIFIER_SCHEMA_REGISTRY_URL" envDefault:"http://127.0.0.1:8081/apis/ccompat/v7"`
}

// SMTP locates the mail server welcome e-mails are handed to.
type SMTP struct {
	Addr string `env:"NOTIFIER_SMTP_ADDR" envDefault:"127.0.0.1:1025"`
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
		return fmt.Errorf("%w: NOTIFIER_SHUTDOWN_TIMEOUT must be positive", config.ErrInvalid)
	case c.TraceSampleRatio < 0 || c.TraceSampleRatio > 1:
		return fmt.Errorf("%w: NOTIFIER_TRACE_SAMPLE_RATIO must be within 0..1", config.ErrInvalid)
	case c.Kafka.Brokers == "":
		return fmt.Errorf("%w: NOTIFIER_KAFKA_BROKERS is required", config.ErrInvalid)
	case c.SMTP.Addr == "":
		return fmt.Errorf("%w: NOTIFIER_SMTP_ADDR is required", config.ErrInvalid)
	}
	return nil
}

// LogValue is what the configuration looks like in the start-up log.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("http_addr", c.HTTPAddr),
		slog.String("log_level", c.LogLevel),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()),
		slog.String("kafka_brokers", c.Kafka.Brokers),
		slog.String("schema_registry", config.RedactURL(c.Kafka.SchemaRegistryURL)),
		slog.String("smtp_addr", c.SMTP.Addr),
	)
}
