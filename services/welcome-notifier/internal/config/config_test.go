package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	libconfig "github.com/ssokit/platform/libs/config"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/welcome-notifier/internal/config"
)

// clearEnv leaves only the one setting without a default: the path of
// the sealing key ring, which Load checks is given (the process reads it).
func clearEnv(t *testing.T) {
	t.Helper()
	testenv.ClearEnv(t, "NOTIFIER_")
	t.Setenv("NOTIFIER_SEALING_KEYS_FILE", "/run/secrets/sealing-keys")
}

func TestDefaults(t *testing.T) {
	clearEnv(t)
	c, err := config.Load()
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"topic", c.Kafka.Topic, "user-registered"},
		{"group", c.Kafka.GroupID, "welcome-notifier"},
		{"dead-letter topic", c.Kafka.DeadLetterTopic, ""},
		{"max attempts", c.Kafka.MaxAttempts, 8},
		{"initial backoff", c.Kafka.InitialBackoff, 200 * time.Millisecond},
		{"max backoff", c.Kafka.MaxBackoff, 30 * time.Second},
		{"smtp addr", c.SMTP.Addr, "127.0.0.1:1025"},
		{"smtp tls", c.SMTP.TLS, config.TLSNone},
		{"smtp timeout", c.SMTP.Timeout, 20 * time.Second},
		{"from", c.Mail.From, "ssokit <welcome@ssokit.local>"},
		{"subject", c.Mail.Subject, "Welcome to ssokit"},
		{"template", c.Mail.TemplateFile, ""},
		{"account topic", c.Account.Topic, "account-events"},
		{"account group", c.Account.GroupID, "welcome-notifier.account"},
		{"account dead-letter topic", c.Account.DeadLetterTopic, ""},
		{"link base", c.Account.LinkBase, "http://127.0.0.1:8000"},
		{"sealing keys", c.Account.SealingKeysFile, "/run/secrets/sealing-keys"},
		{"dsn", c.DB.DSN, "postgres://postgres:postgres@/notifier?sslmode=disable&host=127.0.0.1,127.0.0.1&port=5432,5433&connect_timeout=2&target_session_attrs=read-write"},
	}
	for _, tt := range checks {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"no attempts", map[string]string{"NOTIFIER_MAX_ATTEMPTS": "0"}},
		{"max backoff below initial", map[string]string{"NOTIFIER_RETRY_INITIAL_BACKOFF": "2s", "NOTIFIER_RETRY_MAX_BACKOFF": "1s"}},
		{"zero backoff", map[string]string{"NOTIFIER_RETRY_INITIAL_BACKOFF": "0s"}},
		{"dead letters into the source", map[string]string{"NOTIFIER_DEAD_LETTER_TOPIC": "user-registered"}},
		{"illegal topic name", map[string]string{"NOTIFIER_TOPIC": "user registered"}},
		{"illegal dead-letter topic name", map[string]string{"NOTIFIER_DEAD_LETTER_TOPIC": "dlq/notifier"}},
		{"smtp addr without port", map[string]string{"NOTIFIER_SMTP_ADDR": "mail.example.test"}},
		{"unknown tls mode", map[string]string{"NOTIFIER_SMTP_TLS": "ssl"}},
		{"zero smtp timeout", map[string]string{"NOTIFIER_SMTP_TIMEOUT": "0s"}},
		{"username without password", map[string]string{"NOTIFIER_SMTP_USERNAME": "u"}},
		{"password in clear to a remote server", map[string]string{
			"NOTIFIER_SMTP_ADDR": "mail.example.test:587", "NOTIFIER_SMTP_USERNAME": "u", "NOTIFIER_SMTP_PASSWORD": "p",
		}},
		{"sender not an address", map[string]string{"NOTIFIER_MAIL_FROM": "ssokit"}},
		{"subject with a line break", map[string]string{"NOTIFIER_MAIL_SUBJECT": "Hi\nBcc: x@y"}},
		{"sample ratio above 1", map[string]string{"NOTIFIER_TRACE_SAMPLE_RATIO": "1.5"}},
		{"no sealing keys", map[string]string{"NOTIFIER_SEALING_KEYS_FILE": ""}},
		{"account topic is the registration topic", map[string]string{"NOTIFIER_ACCOUNT_EVENTS_TOPIC": "user-registered"}},
		{"illegal account topic", map[string]string{"NOTIFIER_ACCOUNT_EVENTS_TOPIC": "account events"}},
		{"account group is the registration group", map[string]string{"NOTIFIER_ACCOUNT_GROUP_ID": "welcome-notifier"}},
		{"account dead letters into the source", map[string]string{"NOTIFIER_ACCOUNT_DEAD_LETTER_TOPIC": "account-events"}},
		{"shared dead-letter topic", map[string]string{"NOTIFIER_DEAD_LETTER_TOPIC": "dlq", "NOTIFIER_ACCOUNT_DEAD_LETTER_TOPIC": "dlq"}},
		{"relative link base", map[string]string{"NOTIFIER_LINK_BASE_URL": "/account"}},
		{"link base without scheme", map[string]string{"NOTIFIER_LINK_BASE_URL": "127.0.0.1:8000"}},
		{"link base of another scheme", map[string]string{"NOTIFIER_LINK_BASE_URL": "javascript://x.test/"}},
		{"link base with a query", map[string]string{"NOTIFIER_LINK_BASE_URL": "https://sso.example.test/?a=b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if _, err := config.Load(); !errors.Is(err, libconfig.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestValidAuthSettings(t *testing.T) {
	tests := []map[string]string{
		{"NOTIFIER_SMTP_ADDR": "mail.example.test:587", "NOTIFIER_SMTP_TLS": "starttls", "NOTIFIER_SMTP_USERNAME": "u", "NOTIFIER_SMTP_PASSWORD": "p"},
		{"NOTIFIER_SMTP_ADDR": "mail.example.test:465", "NOTIFIER_SMTP_TLS": "tls", "NOTIFIER_SMTP_USERNAME": "u", "NOTIFIER_SMTP_PASSWORD": "p"},
		{"NOTIFIER_SMTP_ADDR": "localhost:1025", "NOTIFIER_SMTP_USERNAME": "u", "NOTIFIER_SMTP_PASSWORD": "p"},
		{"NOTIFIER_SMTP_ADDR": "[::1]:1025", "NOTIFIER_SMTP_USERNAME": "u", "NOTIFIER_SMTP_PASSWORD": "p"},
	}
	for _, env := range tests {
		clearEnv(t)
		for k, v := range env {
			t.Setenv(k, v)
		}
		if _, err := config.Load(); err != nil {
			t.Errorf("%v: %v", env, err)
		}
	}
}

func TestLogValueHidesSecrets(t *testing.T) {
	clearEnv(t)
	t.Setenv("NOTIFIER_DB_DSN", "postgres://app@db:5432/notifier?password=hunter2")
	t.Setenv("NOTIFIER_SMTP_ADDR", "mail.example.test:465")
	t.Setenv("NOTIFIER_SMTP_TLS", "tls")
	t.Setenv("NOTIFIER_SMTP_USERNAME", "notifier")
	t.Setenv("NOTIFIER_SMTP_PASSWORD", "smtp-secret")
	t.Setenv("NOTIFIER_SCHEMA_REGISTRY_URL", "http://sr:registry-secret@registry:8081/apis/ccompat/v7")
	c, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	logged := c.LogValue().String()
	for _, secret := range []string{"hunter2", "smtp-secret", "registry-secret"} {
		if strings.Contains(logged, secret) {
			t.Errorf("logged config contains %q: %s", secret, logged)
		}
	}
	if !strings.Contains(logged, "notifier") || !strings.Contains(logged, "mail.example.test:465") {
		t.Errorf("logged config lacks the non-secret settings: %s", logged)
	}
}
