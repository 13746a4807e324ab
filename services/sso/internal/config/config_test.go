package config_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	libconfig "github.com/ssokit/platform/libs/config"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/config"
	"github.com/ssokit/platform/services/sso/internal/password"
)

func TestDefaultsAreValid(t *testing.T) {
	testenv.ClearEnv(t, "SSO_")
	c, err := config.Load()
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c.Tokens.AccessTTL != 15*time.Minute {
		t.Errorf("access TTL = %v, want 15m", c.Tokens.AccessTTL)
	}
	if c.Tokens.RefreshTTL != 30*24*time.Hour || c.Tokens.RefreshFamilyTTL != 30*24*time.Hour {
		t.Errorf("refresh TTL, family TTL = %v, %v; want 30 days each", c.Tokens.RefreshTTL, c.Tokens.RefreshFamilyTTL)
	}
	if c.Password.MemoryKiB != 9216 || c.Password.Time != 4 || c.Password.Threads != 1 {
		t.Errorf("argon2 defaults = %+v, want OWASP's m=9216 t=4 p=1", c.Password)
	}
	if c.Password.MinLength != 8 {
		t.Errorf("min length = %d, want 8", c.Password.MinLength)
	}
	want := auth.Limits{
		LoginAccountAddress: 5, LoginAccount: 100, LoginAddress: 50, LoginWindow: 15 * time.Minute,
		RegisterAddress: 10, RegisterWindow: time.Hour,
	}
	if got := c.Limits(); got != want {
		t.Errorf("limits = %+v, want %+v", got, want)
	}
	if got := c.Proxies(); len(got) != 0 {
		t.Errorf("trusted proxies = %v, want none", got)
	}
	wantAccount := auth.AccountConfig{
		VerificationTTL: 24 * time.Hour, ResetTTL: 30 * time.Minute,
		ResendAccount: 3, ResendAddress: 10, ResendWindow: time.Hour,
		ForgotAccount: 5, ForgotAddress: 20, ForgotWindow: time.Hour,
		ResetAddress: 20, ResetWindow: time.Hour,
	}
	if got := c.AccountConfig(); got != wantAccount {
		t.Errorf("account config = %+v, want %+v", got, wantAccount)
	}
	if c.Events.AccountTopic != "account-events" || c.Events.SealingKeysFile != ".local/secrets/sealing-keys" {
		t.Errorf("account events = %+v", c.Events)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"access ttl too short", map[string]string{"SSO_ACCESS_TOKEN_TTL": "10s"}},
		{"refresh not longer than access", map[string]string{"SSO_REFRESH_TOKEN_TTL": "15m"}},
		{"family shorter than its idle TTL", map[string]string{"SSO_REFRESH_FAMILY_TTL": "24h", "SSO_REFRESH_TOKEN_TTL": "48h"}},
		{"min length below NIST", map[string]string{"SSO_PASSWORD_MIN_LENGTH": "6"}},
		{"max length below 64", map[string]string{"SSO_PASSWORD_MAX_LENGTH": "32"}},
		{"argon2 memory too small", map[string]string{"SSO_ARGON2_MEMORY_KIB": "1024"}},
		{"argon2 memory*time below OWASP's floor", map[string]string{"SSO_ARGON2_MEMORY_KIB": "8192", "SSO_ARGON2_TIME": "4"}},
		{"argon2 zero passes", map[string]string{"SSO_ARGON2_TIME": "0"}},
		{"argon2 zero lanes", map[string]string{"SSO_ARGON2_THREADS": "0"}},
		{"argon2 negative concurrency", map[string]string{"SSO_ARGON2_MAX_CONCURRENT": "-1"}},
		{"gc percent zero", map[string]string{"SSO_GC_PERCENT": "0"}},
		{"negative memory limit", map[string]string{"SSO_MEMORY_LIMIT_MIB": "-1"}},
		{"negative token cache size", map[string]string{"SSO_TOKEN_CACHE_SIZE": "-1"}},
		{"no partitions", map[string]string{"SSO_DB_USER_PARTITIONS": "0"}},
		{"zero login limit", map[string]string{"SSO_LOGIN_FAILURE_LIMIT": "0"}},
		{"account limit above NIST's 100", map[string]string{"SSO_LOGIN_ACCOUNT_FAILURE_LIMIT": "101"}},
		{"account limit below the per-address one", map[string]string{"SSO_LOGIN_FAILURE_LIMIT": "10", "SSO_LOGIN_ACCOUNT_FAILURE_LIMIT": "9"}},
		{"zero registration limit", map[string]string{"SSO_REGISTER_IP_LIMIT": "0"}},
		{"zero registration window", map[string]string{"SSO_REGISTER_IP_WINDOW": "0s"}},
		{"trusted proxy not a network", map[string]string{"SSO_TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"}},
		{"sample ratio above 1", map[string]string{"SSO_TRACE_SAMPLE_RATIO": "1.5"}},
		{"registry not a URL", map[string]string{"SSO_SCHEMA_REGISTRY_URL": "127.0.0.1:8081"}},
		{"message timeout below 1s", map[string]string{"SSO_KAFKA_MESSAGE_TIMEOUT": "500ms"}},
		{"stale not longer than message timeout", map[string]string{"SSO_OUTBOX_STALE_AFTER": "20s", "SSO_KAFKA_MESSAGE_TIMEOUT": "20s"}},
		{"zero sweep interval", map[string]string{"SSO_OUTBOX_SWEEP_INTERVAL": "0s"}},
		{"zero batch", map[string]string{"SSO_OUTBOX_BATCH_SIZE": "0"}},
		{"max backoff below initial", map[string]string{"SSO_OUTBOX_INITIAL_BACKOFF": "10s", "SSO_OUTBOX_MAX_BACKOFF": "5s"}},
		{"account events on the user topic", map[string]string{"SSO_ACCOUNT_EVENTS_TOPIC": "user-registered"}},
		{"reset token for days", map[string]string{"SSO_PASSWORD_RESET_TTL": "48h"}},
		{"verification token for seconds", map[string]string{"SSO_EMAIL_VERIFICATION_TTL": "30s"}},
		{"zero forgot limit", map[string]string{"SSO_PASSWORD_FORGOT_ACCOUNT_LIMIT": "0"}},
		{"zero resend window", map[string]string{"SSO_VERIFY_RESEND_WINDOW": "0s"}},
		{"register link not a URL", map[string]string{"SSO_LOGIN_REGISTER_URL": "javascript:alert(1)"}},
		{"reset link without a host", map[string]string{"SSO_LOGIN_PASSWORD_RESET_URL": "/forgot"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testenv.ClearEnv(t, "SSO_")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := config.Load()
			if !errors.Is(err, libconfig.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestArgon2FloorIsPasswords checks that the configuration takes every
// argon2id setting OWASP lists, the 7 MiB one included, and that what it
// refuses is password's refusal.
func TestArgon2FloorIsPasswords(t *testing.T) {
	for _, tt := range []struct{ memoryKiB, time string }{
		{"47104", "1"}, {"19456", "2"}, {"12288", "3"}, {"9216", "4"}, {"7168", "5"},
	} {
		t.Run(tt.memoryKiB+"x"+tt.time, func(t *testing.T) {
			testenv.ClearEnv(t, "SSO_")
			t.Setenv("SSO_ARGON2_MEMORY_KIB", tt.memoryKiB)
			t.Setenv("SSO_ARGON2_TIME", tt.time)
			c, err := config.Load()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := password.NewHasher(c.Password.HashParams()); err != nil {
				t.Fatalf("the configuration accepts what NewHasher refuses: %v", err)
			}
		})
	}
	testenv.ClearEnv(t, "SSO_")
	t.Setenv("SSO_ARGON2_MEMORY_KIB", "7168")
	t.Setenv("SSO_ARGON2_TIME", "4")
	if _, err := config.Load(); !errors.Is(err, password.ErrInvalidParams) || !errors.Is(err, libconfig.ErrInvalid) {
		t.Fatalf("7 MiB x 4: err = %v, want ErrInvalid wrapping password.ErrInvalidParams", err)
	}
}

// TestValidateRequiresEventTargets covers what the environment cannot
// empty (an empty variable takes the default) but code building a Config
// can.
func TestValidateRequiresEventTargets(t *testing.T) {
	testenv.ClearEnv(t, "SSO_")
	tests := []struct {
		name  string
		clear func(*config.Config)
	}{
		{"topic", func(c *config.Config) { c.Events.Topic = "" }},
		{"brokers", func(c *config.Config) { c.Kafka.Brokers = "" }},
		{"schema registry", func(c *config.Config) { c.Kafka.SchemaRegistryURL = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load()
			if err != nil {
				t.Fatal(err)
			}
			tt.clear(&c)
			if err := c.Validate(); !errors.Is(err, libconfig.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestLogValueHidesSecrets(t *testing.T) {
	testenv.ClearEnv(t, "SSO_")
	t.Setenv("SSO_DB_PRIMARY_DSN", "postgres://app:hunter2@db:5432/sso?sslpassword=key-secret")
	// libpq's other two forms: a password in the query, and key=value.
	t.Setenv("SSO_DB_REPLICA_DSN", "host=replica user=app password='query secret' dbname=sso")
	t.Setenv("SSO_REDIS_PASSWORD", "redis-secret")
	t.Setenv("SSO_SCHEMA_REGISTRY_URL", "https://sr:registry-secret@registry.test/apis/ccompat/v7")
	c, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	logged := c.LogValue().String()
	for _, secret := range []string{"hunter2", "key-secret", "query secret", "redis-secret", "registry-secret"} {
		if strings.Contains(logged, secret) {
			t.Errorf("logged config contains %q: %s", secret, logged)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	testenv.ClearEnv(t, "SSO_")
	t.Setenv("SSO_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.10,2001:db8::/32")
	c, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.10/32"), netip.MustParsePrefix("2001:db8::/32")}
	if got := c.Proxies(); !slices.Equal(got, want) {
		t.Errorf("Proxies() = %v, want %v", got, want)
	}
}
