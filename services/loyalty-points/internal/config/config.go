// Package config is the loyalty-points service's typed configuration, read
// once at start from LOYALTY_* environment variables (and the optional
// CONFIG_FILE). The defaults run against the stack that deploy/local starts.
package config

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ssokit/platform/libs/config"
)

// Config is everything the loyalty-points process can be told.
type Config struct {
	// Process is what every service process has: LOYALTY_LOG_LEVEL,
	// LOYALTY_SHUTDOWN_TIMEOUT, LOYALTY_TRACE_SAMPLE_RATIO,
	// LOYALTY_OTLP_ENDPOINT and LOYALTY_PPROF_ADDR.
	config.Process `envPrefix:"LOYALTY_"`
	// API bounds the API's clients and names the browser origins allowed
	// to call it: LOYALTY_HTTP_MAX_BODY_BYTES, LOYALTY_CORS_ALLOWED_ORIGINS and
	// LOYALTY_GRPC_MAX_CONNS.
	config.API `envPrefix:"LOYALTY_"`

	// GRPCAddr serves the gRPC API.
	GRPCAddr string `env:"LOYALTY_GRPC_ADDR" envDefault:"127.0.0.1:44045"`
	// HTTPAddr serves the REST gateway, Swagger UI, health and metrics.
	HTTPAddr string `env:"LOYALTY_HTTP_ADDR" envDefault:"127.0.0.1:8001"`

	// WelcomeBonus is the number of points credited, once, to each new
	// user's account.
	WelcomeBonus int64 `env:"LOYALTY_WELCOME_BONUS" envDefault:"100"`
	// WelcomeBonusOn is the event that credits the welcome bonus:
	// "registration" (UserRegistered) or "verification" (the EmailVerified
	// kind of AccountEvent, consumed from AccountEvents.Topic; UserRegistered
	// then credits nothing). A user gets the bonus once either way.
	WelcomeBonusOn string `env:"LOYALTY_WELCOME_BONUS_ON" envDefault:"registration"`

	DB            DB
	SSO           SSO
	Kafka         Kafka
	Consumer      Consumer
	AccountEvents AccountEvents
}

// AccountEvents configures the consumption of AccountEvents (a UserDeleted
// closes the account; under LOYALTY_WELCOME_BONUS_ON=verification an
// EmailVerified credits the bonus): its own consumer group and dead-letter
// topic, with Consumer's retry settings.
type AccountEvents struct {
	Topic   string `env:"LOYALTY_ACCOUNT_EVENTS_TOPIC" envDefault:"account-events"`
	GroupID string `env:"LOYALTY_ACCOUNT_EVENTS_GROUP_ID" envDefault:"loyalty-points-account-events"`
	// DeadLetterTopic receives the AccountEvents given up on; empty means
	// the consumer library's default name for Topic and GroupID.
	DeadLetterTopic string `env:"LOYALTY_ACCOUNT_EVENTS_DEAD_LETTER_TOPIC"`
}

// Values of WelcomeBonusOn.
const (
	BonusOnRegistration = "registration"
	BonusOnVerification = "verification"
)

// DB locates the service's own PostgreSQL database.
type DB struct {
	DSN string `env:"LOYALTY_DB_DSN" envDefault:"postgres://postgres:postgres@/loyalty?sslmode=disable&host=127.0.0.1,127.0.0.1&port=5432,5433&connect_timeout=2&target_session_attrs=read-write"`
	// MaxOpenConns caps the pool; PostgreSQL's own limit is shared by
	// every replica of every service.
	MaxOpenConns int `env:"LOYALTY_DB_MAX_OPEN_CONNS" envDefault:"20"`
}

// SSO locates the sso service, whose gRPC Validate authenticates callers.
type SSO struct {
	Addr string `env:"LOYALTY_SSO_GRPC_ADDR" envDefault:"127.0.0.1:44044"`
	// Timeout bounds one Validate call; when it passes, the caller gets
	// UNAVAILABLE rather than waiting on a slow sso.
	Timeout time.Duration `env:"LOYALTY_SSO_TIMEOUT" envDefault:"2s"`
}

// Kafka locates the brokers and the Schema Registry the events come through.
type Kafka struct {
	// LOYALTY_KAFKA_BROKERS and LOYALTY_SCHEMA_REGISTRY_URL.
	config.Kafka `envPrefix:"LOYALTY_"`
}

// Consumer configures the consumption of UserRegistered events: a message
// whose handling fails is retried with exponential backoff (InitialBackoff
// doubling up to MaxBackoff). While the database is unreachable it is
// retried until it is back; a malformed event is dead-lettered at once; any
// other failure is dead-lettered after MaxAttempts of them. Nothing is
// silently dropped.
type Consumer struct {
	Topic   string `env:"LOYALTY_TOPIC" envDefault:"user-registered"`
	GroupID string `env:"LOYALTY_GROUP_ID" envDefault:"loyalty-points"`
	// DeadLetterTopic receives the messages given up on; empty means the
	// consumer library's default name for Topic and GroupID.
	DeadLetterTopic string        `env:"LOYALTY_DEAD_LETTER_TOPIC"`
	MaxAttempts     int           `env:"LOYALTY_MAX_ATTEMPTS" envDefault:"8"`
	InitialBackoff  time.Duration `env:"LOYALTY_RETRY_INITIAL_BACKOFF" envDefault:"200ms"`
	MaxBackoff      time.Duration `env:"LOYALTY_RETRY_MAX_BACKOFF" envDefault:"30s"`
}

// Load reads and validates the configuration.
func Load() (Config, error) {
	var c Config
	err := config.Load(&c)
	return c, err
}

// Validate rejects values that would only fail later, at a worse moment.
func (c *Config) Validate() error {
	if err := c.Process.Validate("LOYALTY_"); err != nil {
		return err
	}
	if err := c.API.Validate("LOYALTY_"); err != nil {
		return err
	}
	switch {
	case c.WelcomeBonus <= 0:
		return fmt.Errorf("%w: LOYALTY_WELCOME_BONUS must be positive", config.ErrInvalid)
	case c.DB.DSN == "":
		return fmt.Errorf("%w: LOYALTY_DB_DSN is required", config.ErrInvalid)
	case c.DB.MaxOpenConns <= 0:
		return fmt.Errorf("%w: LOYALTY_DB_MAX_OPEN_CONNS must be positive", config.ErrInvalid)
	case strings.TrimSpace(c.SSO.Addr) == "":
		return fmt.Errorf("%w: LOYALTY_SSO_GRPC_ADDR is required", config.ErrInvalid)
	case c.SSO.Timeout <= 0:
		return fmt.Errorf("%w: LOYALTY_SSO_TIMEOUT must be positive", config.ErrInvalid)
	case c.Kafka.Brokers == "":
		return fmt.Errorf("%w: LOYALTY_KAFKA_BROKERS is required", config.ErrInvalid)
	case c.Kafka.SchemaRegistryURL == "":
		return fmt.Errorf("%w: LOYALTY_SCHEMA_REGISTRY_URL is required", config.ErrInvalid)
	case c.Consumer.Topic == "" || c.Consumer.GroupID == "":
		return fmt.Errorf("%w: LOYALTY_TOPIC and LOYALTY_GROUP_ID are required", config.ErrInvalid)
	case c.WelcomeBonusOn != BonusOnRegistration && c.WelcomeBonusOn != BonusOnVerification:
		return fmt.Errorf("%w: LOYALTY_WELCOME_BONUS_ON must be %q or %q", config.ErrInvalid, BonusOnRegistration, BonusOnVerification)
	case c.AccountEvents.Topic == "" || c.AccountEvents.GroupID == "":
		return fmt.Errorf("%w: LOYALTY_ACCOUNT_EVENTS_TOPIC and LOYALTY_ACCOUNT_EVENTS_GROUP_ID are required", config.ErrInvalid)
	case c.AccountEvents.GroupID == c.Consumer.GroupID || c.AccountEvents.Topic == c.Consumer.Topic:
		// One group per topic: each consumer's offsets, lag and dead
		// letters stay its own.
		return fmt.Errorf("%w: LOYALTY_ACCOUNT_EVENTS_GROUP_ID and _TOPIC must differ from LOYALTY_GROUP_ID and LOYALTY_TOPIC", config.ErrInvalid)
	case c.Consumer.MaxAttempts < 1:
		return fmt.Errorf("%w: LOYALTY_MAX_ATTEMPTS must be at least 1", config.ErrInvalid)
	case c.Consumer.InitialBackoff <= 0 || c.Consumer.MaxBackoff < c.Consumer.InitialBackoff:
		return fmt.Errorf("%w: LOYALTY_RETRY_INITIAL_BACKOFF must be positive and at most LOYALTY_RETRY_MAX_BACKOFF", config.ErrInvalid)
	}
	return nil
}

// LogValue keeps the database password out of the start-up log.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("grpc_addr", c.GRPCAddr),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("pprof_addr", c.PprofAddr),
		slog.String("log_level", c.LogLevel),
		slog.String("otlp_endpoint", c.OTLPEndpoint),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()),
		slog.Int64("welcome_bonus", c.WelcomeBonus),
		slog.String("welcome_bonus_on", c.WelcomeBonusOn),
		slog.String("account_events_topic", c.AccountEvents.Topic),
		slog.String("account_events_group_id", c.AccountEvents.GroupID),
		slog.String("account_events_dead_letter_topic", c.AccountEvents.DeadLetterTopic),
		slog.String("db", config.RedactDSN(c.DB.DSN)),
		slog.Int("db_max_open_conns", c.DB.MaxOpenConns),
		slog.String("sso_addr", c.SSO.Addr),
		slog.String("sso_timeout", c.SSO.Timeout.String()),
		slog.String("kafka_brokers", c.Kafka.Brokers),
		slog.String("schema_registry", config.RedactDSN(c.Kafka.SchemaRegistryURL)),
		slog.String("topic", c.Consumer.Topic),
		slog.String("group_id", c.Consumer.GroupID),
		slog.String("dead_letter_topic", c.Consumer.DeadLetterTopic),
		slog.Int("max_attempts", c.Consumer.MaxAttempts),
		slog.String("retry_initial_backoff", c.Consumer.InitialBackoff.String()),
		slog.String("retry_max_backoff", c.Consumer.MaxBackoff.String()),
	)
}
