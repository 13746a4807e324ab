package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	libconfig "github.com/ssokit/platform/libs/config"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/loyalty-points/internal/config"
)

func TestDefaults(t *testing.T) {
	testenv.ClearEnv(t, "LOYALTY_")
	c, err := config.Load()
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c.WelcomeBonus != 100 {
		t.Errorf("welcome bonus = %d, want 100", c.WelcomeBonus)
	}
	if c.Consumer.Topic != "user-registered" || c.Consumer.GroupID != "loyalty-points" {
		t.Errorf("consumer = %q/%q, want user-registered/loyalty-points", c.Consumer.Topic, c.Consumer.GroupID)
	}
	if c.Consumer.MaxAttempts != 8 || c.Consumer.InitialBackoff != 200*time.Millisecond || c.Consumer.MaxBackoff != 30*time.Second {
		t.Errorf("retry = %+v, want 8 attempts, 200ms..30s", c.Consumer)
	}
	if c.SSO.Addr != "127.0.0.1:44044" || c.SSO.Timeout != 2*time.Second {
		t.Errorf("sso = %+v, want 127.0.0.1:44044 within 2s", c.SSO)
	}
	if c.WelcomeBonusOn != config.BonusOnRegistration || c.AccountEvents.Topic != "account-events" ||
		c.AccountEvents.GroupID != "loyalty-points-account-events" {
		t.Errorf("bonus on %q, account events %+v; want registration, account-events/loyalty-points-account-events",
			c.WelcomeBonusOn, c.AccountEvents)
	}
}

func TestOverrides(t *testing.T) {
	testenv.ClearEnv(t, "LOYALTY_")
	t.Setenv("LOYALTY_WELCOME_BONUS", "250")
	t.Setenv("LOYALTY_TOPIC", "users")
	t.Setenv("LOYALTY_SSO_TIMEOUT", "500ms")
	c, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.WelcomeBonus != 250 || c.Consumer.Topic != "users" || c.SSO.Timeout != 500*time.Millisecond {
		t.Fatalf("config = bonus %d, topic %q, sso timeout %v", c.WelcomeBonus, c.Consumer.Topic, c.SSO.Timeout)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"zero welcome bonus", map[string]string{"LOYALTY_WELCOME_BONUS": "0"}},
		{"negative welcome bonus", map[string]string{"LOYALTY_WELCOME_BONUS": "-5"}},
		{"no sso address", map[string]string{"LOYALTY_SSO_GRPC_ADDR": " "}},
		{"zero sso timeout", map[string]string{"LOYALTY_SSO_TIMEOUT": "0s"}},
		{"zero attempts", map[string]string{"LOYALTY_MAX_ATTEMPTS": "0"}},
		{"max backoff below initial", map[string]string{"LOYALTY_RETRY_INITIAL_BACKOFF": "2s", "LOYALTY_RETRY_MAX_BACKOFF": "1s"}},
		{"zero pool", map[string]string{"LOYALTY_DB_MAX_OPEN_CONNS": "0"}},
		{"sample ratio above 1", map[string]string{"LOYALTY_TRACE_SAMPLE_RATIO": "1.5"}},
		{"bonus on login", map[string]string{"LOYALTY_WELCOME_BONUS_ON": "login"}},
		{"verification on the UserRegistered topic", map[string]string{"LOYALTY_WELCOME_BONUS_ON": "verification", "LOYALTY_ACCOUNT_EVENTS_TOPIC": "user-registered"}},
		{"verification in the UserRegistered group", map[string]string{"LOYALTY_WELCOME_BONUS_ON": "verification", "LOYALTY_ACCOUNT_EVENTS_GROUP_ID": "loyalty-points"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testenv.ClearEnv(t, "LOYALTY_")
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

func TestLogValueHidesSecrets(t *testing.T) {
	testenv.ClearEnv(t, "LOYALTY_")
	t.Setenv("LOYALTY_DB_DSN", "host=db user=app password=hunter2 dbname=loyalty")
	t.Setenv("LOYALTY_SCHEMA_REGISTRY_URL", "http://reg:s3cret@registry:8081/apis/ccompat/v7")
	c, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	logged := c.LogValue().String()
	for _, secret := range []string{"hunter2", "s3cret"} {
		if strings.Contains(logged, secret) {
			t.Errorf("logged config contains %q: %s", secret, logged)
		}
	}
}
