// Package config is the sso service's typed configuration, read once at
// start from SSO_* environment variables (and the optional CONFIG_FILE).
// The defaults run against the stack that deploy/local starts.
package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/platform/libs/config"
	"github.com/ssokit/platform/libs/gateway"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/password"
)

// Config is everything the sso process can be told.
type Config struct {
	// Process is what every service process has: SSO_LOG_LEVEL,
	// SSO_SHUTDOWN_TIMEOUT, SSO_TRACE_SAMPLE_RATIO, SSO_OTLP_ENDPOINT and
	// SSO_PPROF_ADDR.
	config.Process `envPrefix:"SSO_"`
	// API bounds the API's clients and names the browser origins allowed
	// to call it: SSO_HTTP_MAX_BODY_BYTES, SSO_CORS_ALLOWED_ORIGINS and
	// SSO_GRPC_MAX_CONNS.
	config.API `envPrefix:"SSO_"`

	// GRPCAddr serves the gRPC API.
	GRPCAddr string `env:"SSO_GRPC_ADDR" envDefault:"127.0.0.1:44044"`
	// HTTPAddr serves the REST gateway, Swagger UI, JWKS, health and metrics.
	HTTPAddr string `env:"SSO_HTTP_ADDR" envDefault:"127.0.0.1:8000"`
	// TrustedProxies are the networks (CIDR prefixes or single addresses)
	// of the proxies in front of the HTTP port whose X-Forwarded-For is
	// believed: the client address that per-address limits count is the
	// right-most hop not among them. Empty: none, the HTTP peer is the
	// client. gRPC callers are always keyed by their peer address.
	TrustedProxies []string `env:"SSO_TRUSTED_PROXIES" envSeparator:","`
	// GCPercent is the garbage collector's target (GOGC), unless GOGC is
	// set. Most of what sso allocates is argon2id's 9 MiB per hash, dropped
	// as the hash ends; at 50 the heap grows to half again what is live
	// rather than double, which cut peak RSS under login load from 119 to
	// 100 MB at no measured cost in throughput (see bench/README.md).
	GCPercent int `env:"SSO_GC_PERCENT" envDefault:"50"`
	// MemoryLimitMiB is the Go runtime's soft memory limit (0: none, or
	// GOMEMLIMIT). A limit trades CPU for memory: close to the memory of
	// the hashes in flight, the collector runs almost continuously.
	MemoryLimitMiB int64 `env:"SSO_MEMORY_LIMIT_MIB" envDefault:"0"`

	DB       DB
	Redis    Redis
	Tokens   Tokens
	Password Password
	Login    Login
	Register Register
	Account  Account
	Events   Events
	Kafka    Kafka
	Outbox   Outbox
	OIDC     OIDC
	Audit    Audit
}

// OIDC configures the OpenID Connect provider (package oidc).
type OIDC struct {
	// PublicURL is sso's base URL as browsers and relying parties reach it:
	// the provider's issuer, from which discovery, authorize and token
	// URLs are derived. Plain http only for a loopback host.
	PublicURL string `env:"SSO_PUBLIC_URL" envDefault:"http://127.0.0.1:8000"`
	// KeyFile is the RSA private key (PKCS#8 PEM) that signs ID tokens
	// and the provider's access tokens in RS256, which OpenID Connect
	// requires every relying party to verify. Replicas must share it.
	KeyFile string `env:"SSO_OIDC_KEY_FILE" envDefault:".local/sso/oidc/rsa.pem"`
	// CreateKey generates the key when the file is missing (local
	// development); production mounts it and sets this to false.
	CreateKey bool `env:"SSO_OIDC_KEY_CREATE" envDefault:"true"`
	// CodeTTL is how long an authorization code waits for its exchange.
	CodeTTL time.Duration `env:"SSO_OIDC_CODE_TTL" envDefault:"1m"`
	// IDTokenTTL is the lifetime of ID tokens.
	IDTokenTTL time.Duration `env:"SSO_OIDC_ID_TOKEN_TTL" envDefault:"1h"`
	// RegisterURL and ResetURL, when set, are linked from the hosted
	// sign-in form: the pages where a person creates an account or asks
	// for a password reset mail (sso has these as API calls, not pages).
	RegisterURL string `env:"SSO_LOGIN_REGISTER_URL"`
	ResetURL    string `env:"SSO_LOGIN_PASSWORD_RESET_URL"`
	// AddressLimit bounds the calls one client address makes to the
	// provider's /oauth/ endpoints a minute: each authorize stores a
	// request for minutes, so an unbounded caller could fill Redis.
	AddressLimit int `env:"SSO_OIDC_ADDRESS_LIMIT" envDefault:"300"`
}

// Audit configures the audit log: the topic sso writes its audit events to
// and consumes them from into the audit_events table, and how long entries
// are kept.
type Audit struct {
	// Topic is the Kafka topic of the events.v1.AuditEvent records.
	Topic string `env:"SSO_AUDIT_EVENTS_TOPIC" envDefault:"audit-events"`
	// GroupID is the consumer group that fills the log; every sso replica
	// joins it and they share the partitions.
	GroupID string `env:"SSO_AUDIT_GROUP_ID" envDefault:"sso-audit"`
	// DeadLetterTopic receives audit events that cannot be stored; empty
	// means "<topic>.<group>.dlq".
	DeadLetterTopic string `env:"SSO_AUDIT_DEAD_LETTER_TOPIC"`
	// Retention is how long an entry is kept after it occurred (400 days:
	// a year and a margin for an investigation that starts late).
	Retention time.Duration `env:"SSO_AUDIT_RETENTION" envDefault:"9600h"`
	// PruneInterval is how often entries past Retention are deleted.
	PruneInterval time.Duration `env:"SSO_AUDIT_PRUNE_INTERVAL" envDefault:"1h"`
}

// Kafka locates the cluster and the Schema Registry the outbox relay
// publishes to. Neither has to be up for sso to start or to register
// users: events wait in the outbox until they are.
type Kafka struct {
	// SSO_KAFKA_BROKERS and SSO_SCHEMA_REGISTRY_URL.
	config.Kafka `envPrefix:"SSO_"`
	// MessageTimeout is the longest the producer tries to deliver one
	// message before reporting it failed (message.timeout.ms); the outbox
	// retries it later.
	MessageTimeout time.Duration `env:"SSO_KAFKA_MESSAGE_TIMEOUT" envDefault:"20s"`
}

// Outbox tunes the relay that publishes outbox rows.
type Outbox struct {
	// StaleAfter is how long an in-progress row may go untouched before a
	// sweeper publishes it again (its process crashed); it must exceed the
	// Kafka message timeout.
	StaleAfter time.Duration `env:"SSO_OUTBOX_STALE_AFTER" envDefault:"30s"`
	// SweepInterval is the pause between sweeps for failed and stale rows.
	SweepInterval time.Duration `env:"SSO_OUTBOX_SWEEP_INTERVAL" envDefault:"2s"`
	// BatchSize is the most rows one sweep claims.
	BatchSize int `env:"SSO_OUTBOX_BATCH_SIZE" envDefault:"100"`
	// InitialBackoff is the wait after a row's first failed publish; it
	// doubles per further failure, up to MaxBackoff.
	InitialBackoff time.Duration `env:"SSO_OUTBOX_INITIAL_BACKOFF" envDefault:"1s"`
	MaxBackoff     time.Duration `env:"SSO_OUTBOX_MAX_BACKOFF" envDefault:"1m"`
}

// Events configures the events written to the outbox.
type Events struct {
	// Topic is the Kafka topic of the UserRegistered events.
	Topic string `env:"SSO_USER_EVENTS_TOPIC" envDefault:"user-registered"`
	// AccountTopic is the Kafka topic of the events.v1.AccountEvent
	// envelopes: every account event after registration.
	AccountTopic string `env:"SSO_ACCOUNT_EVENTS_TOPIC" envDefault:"account-events"`
	// SealingKeysFile is the key ring (libs/sealbox) that seals one-time
	// tokens into account events for the mail sender, which holds the same
	// file. It must be readable by its owner only.
	SealingKeysFile string `env:"SSO_SEALING_KEYS_FILE" envDefault:".local/secrets/sealing-keys"`
}

// Account configures e-mail verification and password recovery (see
// auth.AccountConfig): token lifetimes and the limits on mails asked for
// and resets tried, each counted within its window.
type Account struct {
	// RequireVerifiedEmail refuses logins of accounts whose address is not
	// verified (FAILED_PRECONDITION, answered only after the password is
	// verified). Registration still signs the new user in.
	RequireVerifiedEmail bool          `env:"SSO_LOGIN_REQUIRES_VERIFIED_EMAIL" envDefault:"false"`
	VerificationTTL      time.Duration `env:"SSO_EMAIL_VERIFICATION_TTL" envDefault:"24h"`
	ResetTTL             time.Duration `env:"SSO_PASSWORD_RESET_TTL" envDefault:"30m"`
	ResendAccountLimit   int           `env:"SSO_VERIFY_RESEND_ACCOUNT_LIMIT" envDefault:"3"`
	ResendIPLimit        int           `env:"SSO_VERIFY_RESEND_IP_LIMIT" envDefault:"10"`
	ResendWindow         time.Duration `env:"SSO_VERIFY_RESEND_WINDOW" envDefault:"1h"`
	ForgotAccountLimit   int           `env:"SSO_PASSWORD_FORGOT_ACCOUNT_LIMIT" envDefault:"5"`
	ForgotIPLimit        int           `env:"SSO_PASSWORD_FORGOT_IP_LIMIT" envDefault:"20"`
	ForgotWindow         time.Duration `env:"SSO_PASSWORD_FORGOT_WINDOW" envDefault:"1h"`
	ResetIPLimit         int           `env:"SSO_PASSWORD_RESET_IP_LIMIT" envDefault:"20"`
	ResetWindow          time.Duration `env:"SSO_PASSWORD_RESET_WINDOW" envDefault:"1h"`
}

// AccountConfig returns the account life cycle policy of the use cases.
func (c *Config) AccountConfig() auth.AccountConfig {
	a := c.Account
	return auth.AccountConfig{
		RequireVerifiedEmail: a.RequireVerifiedEmail,
		VerificationTTL:      a.VerificationTTL, ResetTTL: a.ResetTTL,
		ResendAccount: a.ResendAccountLimit, ResendAddress: a.ResendIPLimit, ResendWindow: a.ResendWindow,
		ForgotAccount: a.ForgotAccountLimit, ForgotAddress: a.ForgotIPLimit, ForgotWindow: a.ForgotWindow,
		ResetAddress: a.ResetIPLimit, ResetWindow: a.ResetWindow,
	}
}

// Tokens configures the access and refresh tokens.
type Tokens struct {
	// KeysDir holds the Ed25519 signing keys (PKCS#8 PEM). The newest
	// signs; all are published in the JWKS. Replicas must share it. When it
	// is empty of keys, one is generated.
	KeysDir string `env:"SSO_JWT_KEYS_DIR" envDefault:".local/sso/keys"`
	// CreateKeys generates a first key when KeysDir has none (local
	// development); production mounts the keys and sets it to false, so a
	// missing secret stops the process instead of minting a lone key.
	CreateKeys bool `env:"SSO_JWT_KEYS_CREATE" envDefault:"true"`
	// Issuer is the iss claim of every access token.
	Issuer string `env:"SSO_JWT_ISSUER" envDefault:"http://127.0.0.1:8000"`
	// Audience is the aud claim of every access token, and what Validate
	// requires a token to name (one entry is enough): a token the same keys
	// signed for another audience is not accepted here.
	Audience []string `env:"SSO_JWT_AUDIENCE" envSeparator:"," envDefault:"ssokit"`
	// AccessTTL is the lifetime of an access token.
	AccessTTL time.Duration `env:"SSO_ACCESS_TOKEN_TTL" envDefault:"15m"`
	// RefreshTTL is how long a refresh token family lives without use.
	RefreshTTL time.Duration `env:"SSO_REFRESH_TOKEN_TTL" envDefault:"720h"`
	// RefreshFamilyTTL is how long a refresh token family lives from the
	// login that started it, however often it is refreshed; then the user
	// logs in again. It bounds how long a stolen refresh token kept in use
	// stays good.
	RefreshFamilyTTL time.Duration `env:"SSO_REFRESH_FAMILY_TTL" envDefault:"720h"`
	// VerifiedCacheSize is how many verified access tokens are remembered,
	// so that validating one again skips its signature check (0: none).
	// Each takes about 300 bytes; see token.VerifiedCache.
	VerifiedCacheSize int `env:"SSO_TOKEN_CACHE_SIZE" envDefault:"4096"`
}

// Password configures hashing (argon2id; the defaults are one of OWASP's
// equivalent settings, see password.DefaultParams) and the policy for new
// passwords (NIST SP 800-63B). Hashes made with other parameters still
// verify and are rehashed with these at the next login. Validate checks
// the argon2id settings with password.Params.Validate, so the floor they
// must meet (OWASP's) is decided in one place.
type Password struct {
	MemoryKiB uint32 `env:"SSO_ARGON2_MEMORY_KIB" envDefault:"9216"`
	Time      uint32 `env:"SSO_ARGON2_TIME" envDefault:"4"`
	Threads   uint8  `env:"SSO_ARGON2_THREADS" envDefault:"1"`
	// MaxConcurrent caps the hashes computed at once (0: GOMAXPROCS); the
	// rest wait. It bounds hashing memory to MaxConcurrent*MemoryKiB.
	MaxConcurrent int `env:"SSO_ARGON2_MAX_CONCURRENT" envDefault:"0"`
	MinLength     int `env:"SSO_PASSWORD_MIN_LENGTH" envDefault:"8"`
	MaxLength     int `env:"SSO_PASSWORD_MAX_LENGTH" envDefault:"256"`
}

// HashParams returns the argon2id parameters of new hashes: these settings,
// and password.DefaultParams for what sso does not configure (salt and key
// lengths).
func (p Password) HashParams() password.Params {
	hp := password.DefaultParams()
	hp.Memory, hp.Time, hp.Threads, hp.MaxConcurrent = p.MemoryKiB, p.Time, p.Threads, p.MaxConcurrent
	return hp
}

// Login configures brute-force throttling (auth.Limits has the policy):
// within Window, after Limit failed logins for one account from one client
// address, AccountLimit for one account from anywhere, or IPLimit from one
// client address over all accounts, further attempts are refused until the
// window ends. AccountLimit is higher than Limit so that an attacker cannot
// lock the owner out from another address, and at most 100 (NIST SP
// 800-63B); IPLimit is higher because many users can share one address.
type Login struct {
	Limit        int           `env:"SSO_LOGIN_FAILURE_LIMIT" envDefault:"5"`
	AccountLimit int           `env:"SSO_LOGIN_ACCOUNT_FAILURE_LIMIT" envDefault:"100"`
	IPLimit      int           `env:"SSO_LOGIN_IP_FAILURE_LIMIT" envDefault:"50"`
	Window       time.Duration `env:"SSO_LOGIN_FAILURE_WINDOW" envDefault:"15m"`
}

// Register limits registrations per client address: IPLimit within
// Window, whatever their outcome.
type Register struct {
	IPLimit int           `env:"SSO_REGISTER_IP_LIMIT" envDefault:"10"`
	Window  time.Duration `env:"SSO_REGISTER_IP_WINDOW" envDefault:"1h"`
}

// maxAccountFailures is NIST SP 800-63B's cap on consecutive failed
// attempts on one account.
const maxAccountFailures = 100

// Limits returns the throttling policy of the use cases.
func (c *Config) Limits() auth.Limits {
	return auth.Limits{
		LoginAccountAddress: c.Login.Limit,
		LoginAccount:        c.Login.AccountLimit,
		LoginAddress:        c.Login.IPLimit,
		LoginWindow:         c.Login.Window,
		RegisterAddress:     c.Register.IPLimit,
		RegisterWindow:      c.Register.Window,
	}
}

// DB locates the PostgreSQL primary (all writes) and its streaming replica
// (reads that tolerate lag). Both DSNs list every node of the Patroni
// cluster: target_session_attrs picks the primary (read-write) or a replica
// (prefer-standby, the primary while no replica is up) at connect time, so
// a failover needs no configuration change.
type DB struct {
	PrimaryDSN string `env:"SSO_DB_PRIMARY_DSN" envDefault:"postgres://postgres:postgres@/sso?sslmode=disable&host=127.0.0.1,127.0.0.1&port=5432,5433&connect_timeout=2&target_session_attrs=read-write"`
	ReplicaDSN string `env:"SSO_DB_REPLICA_DSN" envDefault:"postgres://postgres:postgres@/sso?sslmode=disable&host=127.0.0.1,127.0.0.1&port=5432,5433&connect_timeout=2&target_session_attrs=prefer-standby"`
	// MaxOpenConns caps each pool; PostgreSQL's own limit is shared by
	// every replica of every service.
	MaxOpenConns int `env:"SSO_DB_MAX_OPEN_CONNS" envDefault:"20"`
	// UserPartitions is the number of hash partitions of the users table,
	// fixed when the table is first created.
	UserPartitions int `env:"SSO_DB_USER_PARTITIONS" envDefault:"8"`
}

// Redis locates the token-state store: by default through the three
// Sentinels of the local stack, which name the current master; Addr is
// used only when SentinelAddrs is "none" (a plain Redis without failover).
type Redis struct {
	Addr           string   `env:"SSO_REDIS_ADDR" envDefault:"127.0.0.1:6379"`
	Password       string   `env:"SSO_REDIS_PASSWORD"`
	DB             int      `env:"SSO_REDIS_DB" envDefault:"0"`
	SentinelAddrs  []string `env:"SSO_REDIS_SENTINEL_ADDRS" envSeparator:"," envDefault:"127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381"`
	SentinelMaster string   `env:"SSO_REDIS_SENTINEL_MASTER" envDefault:"mymaster"`
	// KeyPrefix namespaces every key sso writes.
	KeyPrefix string `env:"SSO_REDIS_KEY_PREFIX" envDefault:"sso:"`
	// ReplicaAckTimeout bounds how long a rotation, revocation or throttle
	// reservation waits for a replica to have it (WAIT), so a failover
	// cannot undo it; 0 turns the wait off (see redis.WaitForReplica).
	ReplicaAckTimeout time.Duration `env:"SSO_REDIS_REPLICA_ACK_TIMEOUT" envDefault:"500ms"`
}

// Proxies returns TrustedProxies parsed; Validate has checked them.
func (c *Config) Proxies() []netip.Prefix {
	p, _ := gateway.ParseTrustedProxies(c.TrustedProxies)
	return p
}

// Load reads and validates the configuration.
func Load() (Config, error) {
	var c Config
	err := config.Load(&c)
	// An empty variable means its default, so "none" is how a deployment
	// without Sentinel says so.
	if len(c.Redis.SentinelAddrs) == 1 && c.Redis.SentinelAddrs[0] == "none" {
		c.Redis.SentinelAddrs = nil
	}
	return c, err
}

// Validate rejects values that would only fail later, at a worse moment.
func (c *Config) Validate() error {
	if err := c.Process.Validate("SSO_"); err != nil {
		return err
	}
	if err := c.API.Validate("SSO_"); err != nil {
		return err
	}
	switch {
	case c.DB.PrimaryDSN == "":
		return fmt.Errorf("%w: SSO_DB_PRIMARY_DSN is required", config.ErrInvalid)
	case c.Redis.ReplicaAckTimeout < 0:
		return fmt.Errorf("%w: SSO_REDIS_REPLICA_ACK_TIMEOUT must not be negative", config.ErrInvalid)
	case c.DB.MaxOpenConns <= 0:
		return fmt.Errorf("%w: SSO_DB_MAX_OPEN_CONNS must be positive", config.ErrInvalid)
	case c.GCPercent < 1:
		return fmt.Errorf("%w: SSO_GC_PERCENT must be at least 1", config.ErrInvalid)
	case c.MemoryLimitMiB < 0:
		return fmt.Errorf("%w: SSO_MEMORY_LIMIT_MIB must not be negative", config.ErrInvalid)
	case c.DB.UserPartitions < 1 || c.DB.UserPartitions > 1024:
		return fmt.Errorf("%w: SSO_DB_USER_PARTITIONS must be within 1..1024", config.ErrInvalid)
	case c.Tokens.AccessTTL < time.Minute || c.Tokens.AccessTTL > 24*time.Hour:
		return fmt.Errorf("%w: SSO_ACCESS_TOKEN_TTL must be within 1m..24h", config.ErrInvalid)
	case c.Tokens.RefreshTTL <= c.Tokens.AccessTTL:
		return fmt.Errorf("%w: SSO_REFRESH_TOKEN_TTL must be longer than the access token TTL", config.ErrInvalid)
	case c.Tokens.RefreshFamilyTTL < c.Tokens.RefreshTTL:
		// Not fatal in itself, but the idle TTL could never apply: a sign
		// the two were mixed up.
		return fmt.Errorf("%w: SSO_REFRESH_FAMILY_TTL must be at least SSO_REFRESH_TOKEN_TTL", config.ErrInvalid)
	case c.Tokens.VerifiedCacheSize < 0:
		return fmt.Errorf("%w: SSO_TOKEN_CACHE_SIZE must not be negative", config.ErrInvalid)
	case !isHTTPURL(c.OIDC.PublicURL) || strings.HasSuffix(c.OIDC.PublicURL, "/"):
		return fmt.Errorf("%w: SSO_PUBLIC_URL must be an http(s) base URL without a trailing slash", config.ErrInvalid)
	case c.OIDC.RegisterURL != "" && !isHTTPURL(c.OIDC.RegisterURL) || c.OIDC.ResetURL != "" && !isHTTPURL(c.OIDC.ResetURL):
		return fmt.Errorf("%w: SSO_LOGIN_REGISTER_URL and SSO_LOGIN_PASSWORD_RESET_URL must be http(s) URLs", config.ErrInvalid)
	case c.OIDC.KeyFile == "":
		return fmt.Errorf("%w: SSO_OIDC_KEY_FILE is required", config.ErrInvalid)
	case c.OIDC.CodeTTL < time.Second || c.OIDC.CodeTTL > 10*time.Minute || c.OIDC.IDTokenTTL < time.Minute || c.OIDC.IDTokenTTL > 24*time.Hour:
		return fmt.Errorf("%w: SSO_OIDC_CODE_TTL must be within 1s..10m (RFC 6749), SSO_OIDC_ID_TOKEN_TTL within 1m..24h", config.ErrInvalid)
	case c.OIDC.AddressLimit < 1:
		return fmt.Errorf("%w: SSO_OIDC_ADDRESS_LIMIT must be positive", config.ErrInvalid)
	case c.Tokens.KeysDir == "" || c.Tokens.Issuer == "":
		return fmt.Errorf("%w: SSO_JWT_KEYS_DIR and SSO_JWT_ISSUER are required", config.ErrInvalid)
	case len(c.Tokens.Audience) == 0 || slices.Contains(c.Tokens.Audience, ""):
		return fmt.Errorf("%w: SSO_JWT_AUDIENCE must name at least one audience, none empty", config.ErrInvalid)
	case c.Password.MinLength < 8:
		return fmt.Errorf("%w: SSO_PASSWORD_MIN_LENGTH must be at least 8 (NIST SP 800-63B)", config.ErrInvalid)
	case c.Password.MaxLength < 64 || c.Password.MaxLength < c.Password.MinLength:
		return fmt.Errorf("%w: SSO_PASSWORD_MAX_LENGTH must be at least 64 and the minimum", config.ErrInvalid)
	case c.Login.Limit < 1 || c.Login.IPLimit < 1 || c.Login.Window <= 0:
		return fmt.Errorf("%w: SSO_LOGIN_FAILURE_LIMIT, SSO_LOGIN_IP_FAILURE_LIMIT and SSO_LOGIN_FAILURE_WINDOW must be positive", config.ErrInvalid)
	case c.Login.AccountLimit < c.Login.Limit || c.Login.AccountLimit > maxAccountFailures:
		return fmt.Errorf("%w: SSO_LOGIN_ACCOUNT_FAILURE_LIMIT must be within SSO_LOGIN_FAILURE_LIMIT..%d (NIST SP 800-63B)", config.ErrInvalid, maxAccountFailures)
	case c.Register.IPLimit < 1 || c.Register.Window <= 0:
		return fmt.Errorf("%w: SSO_REGISTER_IP_LIMIT and SSO_REGISTER_IP_WINDOW must be positive", config.ErrInvalid)
	case c.Account.VerificationTTL < time.Minute || c.Account.ResetTTL < time.Minute || c.Account.ResetTTL > 24*time.Hour:
		return fmt.Errorf("%w: SSO_EMAIL_VERIFICATION_TTL must be at least 1m, SSO_PASSWORD_RESET_TTL within 1m..24h", config.ErrInvalid)
	case min(c.Account.ResendAccountLimit, c.Account.ResendIPLimit, c.Account.ForgotAccountLimit, c.Account.ForgotIPLimit, c.Account.ResetIPLimit) < 1 ||
		min(c.Account.ResendWindow, c.Account.ForgotWindow, c.Account.ResetWindow) <= 0:
		return fmt.Errorf("%w: SSO_VERIFY_RESEND_*, SSO_PASSWORD_FORGOT_* and SSO_PASSWORD_RESET_IP_LIMIT/WINDOW must be positive", config.ErrInvalid)
	}
	if _, err := gateway.ParseTrustedProxies(c.TrustedProxies); err != nil {
		return fmt.Errorf("%w: SSO_TRUSTED_PROXIES: %w", config.ErrInvalid, err)
	}
	if err := c.Password.HashParams().Validate(); err != nil {
		return fmt.Errorf("%w: SSO_ARGON2_*: %w", config.ErrInvalid, err)
	}
	return c.validateEvents()
}

func (c *Config) validateEvents() error {
	switch {
	case c.Events.Topic == "" || c.Events.AccountTopic == "":
		return fmt.Errorf("%w: SSO_USER_EVENTS_TOPIC and SSO_ACCOUNT_EVENTS_TOPIC are required", config.ErrInvalid)
	case c.Events.Topic == c.Events.AccountTopic:
		return fmt.Errorf("%w: SSO_ACCOUNT_EVENTS_TOPIC must differ from SSO_USER_EVENTS_TOPIC", config.ErrInvalid)
	case c.Audit.Topic == "" || c.Audit.GroupID == "":
		return fmt.Errorf("%w: SSO_AUDIT_EVENTS_TOPIC and SSO_AUDIT_GROUP_ID are required", config.ErrInvalid)
	case c.Audit.Topic == c.Events.Topic || c.Audit.Topic == c.Events.AccountTopic:
		return fmt.Errorf("%w: SSO_AUDIT_EVENTS_TOPIC must differ from the user and account event topics", config.ErrInvalid)
	case c.Audit.Retention < 24*time.Hour:
		// Shorter is a unit mistake (400 meant as days, read as ns).
		return fmt.Errorf("%w: SSO_AUDIT_RETENTION must be at least 24h", config.ErrInvalid)
	case c.Audit.PruneInterval < time.Minute:
		return fmt.Errorf("%w: SSO_AUDIT_PRUNE_INTERVAL must be at least 1m", config.ErrInvalid)
	case c.Events.SealingKeysFile == "":
		return fmt.Errorf("%w: SSO_SEALING_KEYS_FILE is required", config.ErrInvalid)
	case c.Kafka.Brokers == "":
		return fmt.Errorf("%w: SSO_KAFKA_BROKERS is required", config.ErrInvalid)
	case !isHTTPURL(c.Kafka.SchemaRegistryURL):
		return fmt.Errorf("%w: SSO_SCHEMA_REGISTRY_URL must be an http(s) URL", config.ErrInvalid)
	case c.Kafka.MessageTimeout < time.Second:
		return fmt.Errorf("%w: SSO_KAFKA_MESSAGE_TIMEOUT must be at least 1s", config.ErrInvalid)
	case c.Outbox.StaleAfter <= c.Kafka.MessageTimeout:
		// A row still being delivered would look abandoned and be
		// published twice.
		return fmt.Errorf("%w: SSO_OUTBOX_STALE_AFTER must be longer than SSO_KAFKA_MESSAGE_TIMEOUT", config.ErrInvalid)
	case c.Outbox.SweepInterval <= 0:
		return fmt.Errorf("%w: SSO_OUTBOX_SWEEP_INTERVAL must be positive", config.ErrInvalid)
	case c.Outbox.BatchSize < 1 || c.Outbox.BatchSize > 10_000:
		return fmt.Errorf("%w: SSO_OUTBOX_BATCH_SIZE must be within 1..10000", config.ErrInvalid)
	case c.Outbox.InitialBackoff <= 0 || c.Outbox.MaxBackoff < c.Outbox.InitialBackoff:
		return fmt.Errorf("%w: SSO_OUTBOX_INITIAL_BACKOFF must be positive and SSO_OUTBOX_MAX_BACKOFF at least as long", config.ErrInvalid)
	}
	return nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// LogValue keeps secrets out of logs: DSNs and the Redis password are
// redacted when the configuration is logged at start.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("grpc_addr", c.GRPCAddr),
		slog.String("http_addr", c.HTTPAddr),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.String("log_level", c.LogLevel),
		slog.String("otlp_endpoint", c.OTLPEndpoint),
		slog.String("pprof_addr", c.PprofAddr),
		slog.Int("gc_percent", c.GCPercent),
		slog.Int64("memory_limit_mib", c.MemoryLimitMiB),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()),
		slog.String("db_primary", config.RedactDSN(c.DB.PrimaryDSN)),
		slog.String("db_replica", config.RedactDSN(c.DB.ReplicaDSN)),
		slog.String("redis_addr", c.Redis.Addr),
		slog.Any("redis_sentinels", c.Redis.SentinelAddrs),
		slog.String("jwt_keys_dir", c.Tokens.KeysDir),
		slog.String("jwt_issuer", c.Tokens.Issuer),
		slog.String("public_url", c.OIDC.PublicURL),
		slog.String("oidc_key_file", c.OIDC.KeyFile),
		slog.Any("jwt_audience", c.Tokens.Audience),
		slog.String("access_ttl", c.Tokens.AccessTTL.String()),
		slog.String("refresh_ttl", c.Tokens.RefreshTTL.String()),
		slog.String("refresh_family_ttl", c.Tokens.RefreshFamilyTTL.String()),
		slog.Int("token_cache_size", c.Tokens.VerifiedCacheSize),
		slog.Any("argon2", map[string]uint32{"memory_kib": c.Password.MemoryKiB, "time": c.Password.Time, "threads": uint32(c.Password.Threads), "max_concurrent": uint32(c.Password.MaxConcurrent)}),
		slog.Int("login_failure_limit", c.Login.Limit),
		slog.Int("login_account_failure_limit", c.Login.AccountLimit),
		slog.Int("login_ip_failure_limit", c.Login.IPLimit),
		slog.String("login_failure_window", c.Login.Window.String()),
		slog.Int("register_ip_limit", c.Register.IPLimit),
		slog.String("register_ip_window", c.Register.Window.String()),
		slog.String("user_events_topic", c.Events.Topic),
		slog.String("account_events_topic", c.Events.AccountTopic),
		slog.String("audit_events_topic", c.Audit.Topic),
		slog.String("audit_group", c.Audit.GroupID),
		slog.String("audit_retention", c.Audit.Retention.String()),
		slog.String("sealing_keys_file", c.Events.SealingKeysFile),
		slog.Bool("login_requires_verified_email", c.Account.RequireVerifiedEmail),
		slog.String("email_verification_ttl", c.Account.VerificationTTL.String()),
		slog.String("password_reset_ttl", c.Account.ResetTTL.String()),
		slog.String("kafka_brokers", c.Kafka.Brokers),
		slog.String("schema_registry", config.RedactDSN(c.Kafka.SchemaRegistryURL)),
		slog.String("kafka_message_timeout", c.Kafka.MessageTimeout.String()),
		slog.String("outbox_stale_after", c.Outbox.StaleAfter.String()),
		slog.String("outbox_sweep_interval", c.Outbox.SweepInterval.String()),
		slog.Int("outbox_batch_size", c.Outbox.BatchSize),
	)
}
