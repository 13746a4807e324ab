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

func TestDefaults(t *testing.T) {
	testenv.ClearEnv(t, "NOTIFIER_")
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testenv.ClearEnv(t, "NOTIFIER_")
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
		testenv.ClearEnv(t, "NOTIFIER_")
		for k, v := range env {
			t.Setenv(k, v)
		}
		if _, err := config.Load(); err != nil {
			t.Errorf("%v: %v", env, err)
		}
	}
}

func TestLogValueHidesSecrets(t *testing.T) {
	testenv.ClearEnv(t, "NOTIFIER_")
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
