// Package config is the welcome-notifier's typed configuration, read once at
// start from NOTIFIER_* environment variables (and the optional CONFIG_FILE).
// The defaults run against the stack that deploy/local starts.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/ssokit/platform/libs/config"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

// Config is everything the welcome-notifier process can be told.
type Config struct {
	// Process is what every service process has: NOTIFIER_LOG_LEVEL,
	// NOTIFIER_SHUTDOWN_TIMEOUT, NOTIFIER_TRACE_SAMPLE_RATIO,
	// NOTIFIER_OTLP_ENDPOINT and NOTIFIER_PPROF_ADDR.
	config.Process `envPrefix:"NOTIFIER_"`

	// HTTPAddr serves health and metrics.
	HTTPAddr string `env:"NOTIFIER_HTTP_ADDR" envDefault:"127.0.0.1:8002"`

	Kafka   Kafka
	Account Account
	SMTP    SMTP
	Mail    Mail
	DB      DB
	SSO     SSO
}

// SSO locates the sso service, whose gRPC UserDataKeyService hands out
// the data keys that open the personal data (the address) in the events.
type SSO struct {
	Addr string `env:"NOTIFIER_SSO_GRPC_ADDR" envDefault:"127.0.0.1:44044"`
	// Timeout bounds each key lookup; a slower sso counts as unavailable
	// and the event is retried.
	Timeout time.Duration `env:"NOTIFIER_SSO_TIMEOUT" envDefault:"2s"`
}

// Account is the second consumer of the process: account life-cycle events
// (events.v1.AccountEvent) and the mails they ask for. It shares the
// brokers, registry and retry settings of Kafka, and has its own topic,
// group and dead-letter topic.
type Account struct {
	// Topic carries the AccountEvents.
	Topic string `env:"NOTIFIER_ACCOUNT_EVENTS_TOPIC" envDefault:"account-events"`
	// GroupID is the account consumer's group, distinct from Kafka.GroupID.
	GroupID string `env:"NOTIFIER_ACCOUNT_GROUP_ID" envDefault:"welcome-notifier.account"`
	// DeadLetterTopic receives account events that cannot be handled;
	// empty means the consumer's default for Topic and GroupID.
	DeadLetterTopic string `env:"NOTIFIER_ACCOUNT_DEAD_LETTER_TOPIC"`
	// LinkBase starts the links in the mails: sso's public HTTP address.
	LinkBase string `env:"NOTIFIER_LINK_BASE_URL" envDefault:"http://127.0.0.1:8000"`
	// SealingKeysFile is the key ring (shared with sso) that opens the
	// tokens sealed in the events; mode 0600. Required: without it no
	// link could be mailed.
	SealingKeysFile string `env:"NOTIFIER_SEALING_KEYS_FILE"`
}

// Kafka locates the brokers and the Schema Registry the events come through,
// and says how a message that cannot be handled is retried.
type Kafka struct {
	// NOTIFIER_KAFKA_BROKERS and NOTIFIER_SCHEMA_REGISTRY_URL.
	config.Kafka `envPrefix:"NOTIFIER_"`
	// Topic carries the UserRegistered events.
	Topic string `env:"NOTIFIER_TOPIC" envDefault:"user-registered"`
	// GroupID is the consumer group; its committed offsets are the
	// notifier's position in Topic.
	GroupID string `env:"NOTIFIER_GROUP_ID" envDefault:"welcome-notifier"`
	// DeadLetterTopic receives messages that cannot be handled at all or
	// failed MaxAttempts times; empty means the consumer's default.
	DeadLetterTopic string `env:"NOTIFIER_DEAD_LETTER_TOPIC"`
	// MaxAttempts is how many unclassified failures (not an outage, not a
	// refusal) a message may have before it is dead-lettered; an SMTP or
	// database outage is waited for without limit.
	MaxAttempts int `env:"NOTIFIER_MAX_ATTEMPTS" envDefault:"8"`
	// InitialBackoff and MaxBackoff bound the exponential wait between
	// attempts; MaxBackoff is also the longest a recovered dependency
	// waits for the next try.
	InitialBackoff time.Duration `env:"NOTIFIER_RETRY_INITIAL_BACKOFF" envDefault:"200ms"`
	MaxBackoff     time.Duration `env:"NOTIFIER_RETRY_MAX_BACKOFF" envDefault:"30s"`
}

// TLS modes of the SMTP connection.
const (
	TLSNone     = "none"     // plain text (a local relay such as Mailpit)
	TLSStartTLS = "starttls" // upgrade with STARTTLS, required (submission port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
)

// SMTP locates the mail server welcome e-mails are handed to.
type SMTP struct {
	Addr string `env:"NOTIFIER_SMTP_ADDR" envDefault:"127.0.0.1:1025"`
	// Username and Password enable AUTH PLAIN, which is only ever sent over
	// TLS or to a loopback server.
	Username string `env:"NOTIFIER_SMTP_USERNAME"`
	Password string `env:"NOTIFIER_SMTP_PASSWORD"`
	// TLS is none, starttls or tls.
	TLS string `env:"NOTIFIER_SMTP_TLS" envDefault:"none"`
	// Timeout bounds one delivery: connect, dialogue and data. Keep it
	// below the consumer's 30 s handler timeout, so a hung server fails
	// as an SMTP error rather than a cancelled handler.
	Timeout time.Duration `env:"NOTIFIER_SMTP_TIMEOUT" envDefault:"20s"`
}

// Mail is what the welcome e-mail says and who it is from.
type Mail struct {
	From    string `env:"NOTIFIER_MAIL_FROM" envDefault:"ssokit <welcome@ssokit.local>"`
	Subject string `env:"NOTIFIER_MAIL_SUBJECT" envDefault:"Welcome to ssokit"`
	// TemplateFile, when set, is a text/template for the body that replaces
	// the built-in one.
	TemplateFile string `env:"NOTIFIER_TEMPLATE_FILE"`
}

// DB locates the PostgreSQL database that records which users have been
// welcomed.
type DB struct {
	DSN string `env:"NOTIFIER_DB_DSN" envDefault:"postgres://postgres:postgres@/notifier?sslmode=disable&host=127.0.0.1,127.0.0.1&port=5432,5433&connect_timeout=2&target_session_attrs=read-write"`
}

// topicName is what Kafka accepts as a topic name.
var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// Load reads and validates the configuration.
func Load() (Config, error) {
	var c Config
	err := config.Load(&c)
	return c, err
}

// Validate rejects values that would only fail later, at a worse moment.
func (c *Config) Validate() error {
	if err := c.Process.Validate("NOTIFIER_"); err != nil {
		return err
	}
	switch {
	case c.Kafka.Brokers == "":
		return invalid("NOTIFIER_KAFKA_BROKERS is required")
	case c.Kafka.SchemaRegistryURL == "":
		return invalid("NOTIFIER_SCHEMA_REGISTRY_URL is required")
	case !topicName.MatchString(c.Kafka.Topic):
		return invalid("NOTIFIER_TOPIC must be a Kafka topic name (letters, digits, '.', '_', '-')")
	case c.Kafka.DeadLetterTopic != "" && !topicName.MatchString(c.Kafka.DeadLetterTopic):
		return invalid("NOTIFIER_DEAD_LETTER_TOPIC must be a Kafka topic name (letters, digits, '.', '_', '-')")
	case c.Kafka.GroupID == "":
		return invalid("NOTIFIER_GROUP_ID is required")
	case c.Kafka.DeadLetterTopic == c.Kafka.Topic:
		return invalid("NOTIFIER_DEAD_LETTER_TOPIC must differ from NOTIFIER_TOPIC")
	case c.Kafka.MaxAttempts < 1:
		return invalid("NOTIFIER_MAX_ATTEMPTS must be at least 1")
	case c.Kafka.InitialBackoff <= 0 || c.Kafka.MaxBackoff < c.Kafka.InitialBackoff:
		return invalid("NOTIFIER_RETRY_INITIAL_BACKOFF must be positive and NOTIFIER_RETRY_MAX_BACKOFF at least as long")
	case c.DB.DSN == "":
		return invalid("NOTIFIER_DB_DSN is required")
	case c.Mail.Subject == "" || strings.ContainsAny(c.Mail.Subject, "\r\n"):
		return invalid("NOTIFIER_MAIL_SUBJECT must be one non-empty line")
	case strings.TrimSpace(c.SSO.Addr) == "":
		return invalid("NOTIFIER_SSO_GRPC_ADDR is required")
	case c.SSO.Timeout <= 0:
		return invalid("NOTIFIER_SSO_TIMEOUT must be positive")
	}
	if err := c.Account.validate(c.Kafka); err != nil {
		return err
	}
	if _, err := mail.ParseAddress(c.Mail.From); err != nil {
		return invalid(fmt.Sprintf("NOTIFIER_MAIL_FROM is not an address: %v", err))
	}
	return c.SMTP.validate()
}

func (a *Account) validate(k Kafka) error {
	switch {
	case !topicName.MatchString(a.Topic):
		return invalid("NOTIFIER_ACCOUNT_EVENTS_TOPIC must be a Kafka topic name (letters, digits, '.', '_', '-')")
	case a.DeadLetterTopic != "" && !topicName.MatchString(a.DeadLetterTopic):
		return invalid("NOTIFIER_ACCOUNT_DEAD_LETTER_TOPIC must be a Kafka topic name (letters, digits, '.', '_', '-')")
	case a.Topic == k.Topic:
		return invalid("NOTIFIER_ACCOUNT_EVENTS_TOPIC must differ from NOTIFIER_TOPIC")
	case a.GroupID == "" || a.GroupID == k.GroupID:
		return invalid("NOTIFIER_ACCOUNT_GROUP_ID is required and must differ from NOTIFIER_GROUP_ID")
	case a.DeadLetterTopic != "" && (a.DeadLetterTopic == a.Topic || a.DeadLetterTopic == k.Topic || a.DeadLetterTopic == k.DeadLetterTopic):
		return invalid("NOTIFIER_ACCOUNT_DEAD_LETTER_TOPIC must differ from the consumed topics and NOTIFIER_DEAD_LETTER_TOPIC")
	case a.SealingKeysFile == "":
		return invalid("NOTIFIER_SEALING_KEYS_FILE is required: the key ring that opens the tokens in account events")
	}
	if _, err := welcome.ParseLinkBase(a.LinkBase); err != nil {
		return invalid("NOTIFIER_LINK_BASE_URL: " + err.Error())
	}
	return nil
}

func (s *SMTP) validate() error {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil || host == "" {
		return invalid("NOTIFIER_SMTP_ADDR must be host:port")
	}
	switch s.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return invalid("NOTIFIER_SMTP_TLS must be none, starttls or tls")
	}
	if s.Timeout <= 0 {
		return invalid("NOTIFIER_SMTP_TIMEOUT must be positive")
	}
	if (s.Username == "") != (s.Password == "") {
		return invalid("NOTIFIER_SMTP_USERNAME and NOTIFIER_SMTP_PASSWORD go together")
	}
	if s.Username != "" && s.TLS == TLSNone && !isLoopback(host) {
		// The password would cross the network in clear text.
		return invalid("SMTP authentication needs NOTIFIER_SMTP_TLS=starttls or tls unless the server is on localhost")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func invalid(msg string) error { return fmt.Errorf("%w: %s", config.ErrInvalid, msg) }

// LogValue keeps secrets out of logs: the SMTP password is never shown and
// DSN passwords are redacted when the configuration is logged at start.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("http_addr", c.HTTPAddr),
		slog.String("pprof_addr", c.PprofAddr),
		slog.String("log_level", c.LogLevel),
		slog.String("otlp_endpoint", c.OTLPEndpoint),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()),
		slog.String("kafka_brokers", c.Kafka.Brokers),
		slog.String("schema_registry", config.RedactDSN(c.Kafka.SchemaRegistryURL)),
		slog.String("topic", c.Kafka.Topic),
		slog.String("group_id", c.Kafka.GroupID),
		slog.String("dead_letter_topic", c.Kafka.DeadLetterTopic),
		slog.String("account_topic", c.Account.Topic),
		slog.String("account_group_id", c.Account.GroupID),
		slog.String("account_dead_letter_topic", c.Account.DeadLetterTopic),
		slog.String("link_base", c.Account.LinkBase),
		slog.String("sealing_keys_file", c.Account.SealingKeysFile),
		slog.Int("max_attempts", c.Kafka.MaxAttempts),
		slog.String("retry_backoff", c.Kafka.InitialBackoff.String()+".."+c.Kafka.MaxBackoff.String()),
		slog.String("smtp_addr", c.SMTP.Addr),
		slog.String("smtp_tls", c.SMTP.TLS),
		slog.String("smtp_username", c.SMTP.Username),
		slog.Bool("smtp_password_set", c.SMTP.Password != ""),
		slog.String("smtp_timeout", c.SMTP.Timeout.String()),
		slog.String("mail_from", c.Mail.From),
		slog.String("mail_subject", c.Mail.Subject),
		slog.String("template_file", c.Mail.TemplateFile),
		slog.String("db", config.RedactDSN(c.DB.DSN)),
		slog.String("sso_addr", c.SSO.Addr),
		slog.String("sso_timeout", c.SSO.Timeout.String()),
	)
}
