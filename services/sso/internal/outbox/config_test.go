package outbox_test

import (
	"testing"
	"time"

	"github.com/ssokit/platform/services/sso/internal/outbox"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	cfg := outbox.Config{InitialBackoff: time.Second, MaxBackoff: time.Minute}
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{0, time.Second}, // never below the initial wait
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{6, 32 * time.Second},
		{7, time.Minute}, // 64s, capped
		{1000, time.Minute},
	}
	for _, tt := range tests {
		if got := outbox.Backoff(cfg, tt.attempt); got != tt.want {
			t.Errorf("backoff after attempt %d = %v, want %v", tt.attempt, got, tt.want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	got := outbox.Defaults(outbox.Config{})
	want := outbox.Config{
		StaleAfter:     30 * time.Second,
		SweepInterval:  2 * time.Second,
		BatchSize:      100,
		InitialBackoff: time.Second,
		MaxBackoff:     time.Minute,
		MessageTimeout: 20 * time.Second,
		FlushTimeout:   10 * time.Second,
		QueueSize:      1024,
	}
	if got != want {
		t.Fatalf("defaults = %+v\nwant       %+v", got, want)
	}
	// A maximum below the initial wait is raised to it.
	if got := outbox.Defaults(outbox.Config{InitialBackoff: time.Minute, MaxBackoff: time.Second}); got.MaxBackoff != time.Minute {
		t.Fatalf("MaxBackoff = %v, want raised to 1m", got.MaxBackoff)
	}
}
