package consumer

import (
	"testing"
	"time"
)

func TestBackoffCeilingDoublesUpToTheLimit(t *testing.T) {
	const initial, limit = 200 * time.Millisecond, 30 * time.Second
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{1, 200 * time.Millisecond},
		{2, 400 * time.Millisecond},
		{3, 800 * time.Millisecond},
		{7, 12800 * time.Millisecond},
		{8, 25600 * time.Millisecond},
		{9, limit},
		{100, limit},
		{1 << 30, limit}, // no overflow however long a registry outage lasts
	}
	for _, tt := range tests {
		if got := backoffCeiling(tt.attempt, initial, limit); got != tt.want {
			t.Errorf("backoffCeiling(%d) = %v, want %v", tt.attempt, got, tt.want)
		}
	}
}

func TestBackoffJitterStaysWithinHalfAndFullCeiling(t *testing.T) {
	const initial, limit = 100 * time.Millisecond, time.Second
	tests := []struct {
		name    string
		attempt int
		rnd     float64
		want    time.Duration
	}{
		{"lowest jitter is half the ceiling", 1, 0, 50 * time.Millisecond},
		{"mid jitter", 2, 0.5, 150 * time.Millisecond},
		{"highest jitter is the ceiling", 3, 0.999999999, 400 * time.Millisecond},
		{"capped", 10, 0, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := backoff(tt.attempt, initial, limit, func() float64 { return tt.rnd })
			if d := got - tt.want; d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("backoff(%d, rnd=%v) = %v, want %v", tt.attempt, tt.rnd, got, tt.want)
			}
		})
	}
	// With the real source every delay lies in [ceiling/2, ceiling].
	for attempt := 1; attempt <= 12; attempt++ {
		ceiling := backoffCeiling(attempt, initial, limit)
		for range 200 {
			if got := backoff(attempt, initial, limit, randFloat); got < ceiling/2 || got > ceiling {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt, got, ceiling/2, ceiling)
			}
		}
	}
}

func TestConfigDefaultsAndPollInterval(t *testing.T) {
	cfg := Config{Brokers: "b:9092", GroupID: "welcome-notifier", Topic: "user.registered", SchemaRegistryURL: "http://r"}.withDefaults()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.DeadLetterTopic != "user.registered.welcome-notifier.dlq" || cfg.MaxAttempts != 8 ||
		cfg.InitialBackoff != 200*time.Millisecond || cfg.MaxBackoff != 30*time.Second ||
		cfg.HandlerTimeout != 30*time.Second || cfg.Observer == nil || cfg.LagInterval != 10*time.Second ||
		cfg.SessionTimeout != 10*time.Second {
		t.Errorf("defaults = %+v", cfg)
	}
	// The consumer polls while it waits between attempts, so only one
	// handler call and one dead-letter write fall between two polls.
	if got := cfg.maxPollInterval(); got != 5*time.Minute {
		t.Errorf("maxPollInterval = %v, want the 5m floor", got)
	}
	slow := cfg
	slow.HandlerTimeout = 10 * time.Minute
	if got, want := slow.maxPollInterval(), 12*time.Minute; got != want {
		t.Errorf("maxPollInterval = %v, want %v", got, want)
	}
	huge := cfg
	huge.HandlerTimeout = 48 * time.Hour
	if got := huge.maxPollInterval(); got != 24*time.Hour {
		t.Errorf("maxPollInterval = %v, want the 24h ceiling", got)
	}
}

func TestConfigValidate(t *testing.T) {
	valid := Config{Brokers: "b:9092", GroupID: "g", Topic: "t", SchemaRegistryURL: "http://r"}
	tests := []struct {
		name   string
		modify func(*Config)
		ok     bool
	}{
		{"valid", func(*Config) {}, true},
		{"no brokers", func(c *Config) { c.Brokers = "" }, false},
		{"no group", func(c *Config) { c.GroupID = "" }, false},
		{"no topic", func(c *Config) { c.Topic = "" }, false},
		{"no registry", func(c *Config) { c.SchemaRegistryURL = "" }, false},
		{"group not usable in a topic name", func(c *Config) { c.GroupID = "my group" }, false},
		{"group not usable but explicit dead-letter topic", func(c *Config) { c.GroupID, c.DeadLetterTopic = "my group", "t.dlq" }, true},
		{"dead-letter topic is the topic", func(c *Config) { c.DeadLetterTopic = "t" }, false},
		{"negative attempts", func(c *Config) { c.MaxAttempts = -1 }, false},
		{"max backoff below initial", func(c *Config) { c.InitialBackoff, c.MaxBackoff = time.Second, time.Millisecond }, false},
		{"negative handler timeout", func(c *Config) { c.HandlerTimeout = -time.Second }, false},
		{"negative lag interval", func(c *Config) { c.LagInterval = -time.Second }, false},
		{"negative session timeout", func(c *Config) { c.SessionTimeout = -time.Second }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.modify(&cfg)
			err := cfg.withDefaults().validate()
			if (err == nil) != tt.ok {
				t.Errorf("validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
