// Package config is the sso service's typed configuration, read once at
// start from SSO_* environment variables (and the optional CONFIG_FILE).
// The defaults run against the stack that deploy/local starts.
package config

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/ssokit/platform/libs/config"
)

// Config is everything the sso process can be told.
type Config struct {
	// GRPCAddr serves the gRPC API.
	GRPCAddr string `env:"SSO_GRPC_ADDR" envDefault:"127.0.0.1:44044"`
	// HTTPAddr serves the REST gateway, Swagger UI, JWKS, health and metrics.
	HTTPAddr string `env:"SSO_HTTP_ADDR" envDefault:"127.0.0.1:8000"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"SSO_LOG_LEVEL" envDefault:"info"`
	// ShutdownTimeout bounds how long in-flight requests may drain on stop.
	ShutdownTimeout time.Duration `env:"SSO_SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// TraceSampleRatio is the share of new traces recorded (0..1).
	TraceSampleRatio float64 `env:"SSO_TRACE_SAMPLE_RATIO" envDefault:"1"`

	DB    DB
	Redis Redis
}

// DB locates the PostgreSQL primary (all writes) and its streaming replica
// (reads that tolerate lag).
type DB struct {
	PrimaryDSN string `env:"SSO_DB_PRIMARY_DSN" envDefault:"postgres://postgres:postgres@127.0.0.1:5432/sso?sslmode=disable"`
	ReplicaDSN string `env:"SSO_DB_REPLICA_DSN" envDefault:"postgres://postgres:postgres@127.0.0.1:5433/sso?sslmode=disable"`
	// MaxOpenConns caps each pool; PostgreSQL's own limit is shared by
	// every replica of every service.
	MaxOpenConns int `env:"SSO_DB_MAX_OPEN_CONNS" envDefault:"20"`
}

// Redis locates the token-state store: a plain address, or Sentinel
// addresses plus the master name when SentinelAddrs is set.
type Redis struct {
	Addr           string   `env:"SSO_REDIS_ADDR" envDefault:"127.0.0.1:6379"`
	Password       string   `env:"SSO_REDIS_PASSWORD"`
	DB             int      `env:"SSO_REDIS_DB" envDefault:"0"`
	SentinelAddrs  []string `env:"SSO_REDIS_SENTINEL_ADDRS" envSeparator:","`
	SentinelMaster string   `env:"SSO_REDIS_SENTINEL_MASTER" envDefault:"mymaster"`
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
		return fmt.Errorf("%w: SSO_SHUTDOWN_TIMEOUT must be positive", config.ErrInvalid)
	case c.TraceSampleRatio < 0 || c.TraceSampleRatio > 1:
		return fmt.Errorf("%w: SSO_TRACE_SAMPLE_RATIO must be within 0..1", config.ErrInvalid)
	case c.DB.PrimaryDSN == "":
		return fmt.Errorf("%w: SSO_DB_PRIMARY_DSN is required", config.ErrInvalid)
	case c.DB.MaxOpenConns <= 0:
		return fmt.Errorf("%w: SSO_DB_MAX_OPEN_CONNS must be positive", config.ErrInvalid)
	}
	return nil
}

// LogValue keeps secrets out of logs: DSNs and the Redis password are
// redacted when the configuration is logged at start.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("grpc_addr", c.GRPCAddr),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("log_level", c.LogLevel),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()),
		slog.String("db_primary", config.RedactURL(c.DB.PrimaryDSN)),
		slog.String("db_replica", config.RedactURL(c.DB.ReplicaDSN)),
		slog.String("redis_addr", c.Redis.Addr),
		slog.Any("redis_sentinels", c.Redis.SentinelAddrs),
	)
}
