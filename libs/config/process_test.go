package config_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/config"
)

type service struct {
	config.Process `envPrefix:"SVC_"`
	Kafka          struct {
		config.Kafka `envPrefix:"SVC_"`
		Topic        string `env:"SVC_TOPIC" envDefault:"t"`
	}
}

func TestProcessAndKafkaTakeTheServicePrefix(t *testing.T) {
	for _, k := range []string{"SVC_LOG_LEVEL", "SVC_SHUTDOWN_TIMEOUT", "SVC_KAFKA_BROKERS", config.FileVar} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("SVC_SHUTDOWN_TIMEOUT", "3s")
	t.Setenv("SVC_KAFKA_BROKERS", "k1:9092,k2:9092")
	var c service
	if err := config.Load(&c); err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != "info" || c.ShutdownTimeout != 3*time.Second || c.TraceSampleRatio != 1 {
		t.Errorf("process = %+v, want the defaults with a 3s shutdown", c.Process)
	}
	if c.Kafka.Brokers != "k1:9092,k2:9092" || c.Kafka.SchemaRegistryURL != "http://127.0.0.1:8081/apis/ccompat/v7" || c.Kafka.Topic != "t" {
		t.Errorf("kafka = %+v", c.Kafka)
	}
}

func TestProcessValidateNamesThePrefixedVariable(t *testing.T) {
	ok := config.Process{ShutdownTimeout: time.Second, TraceSampleRatio: 0.5}
	if err := ok.Validate("SVC_"); err != nil {
		t.Fatalf("valid process: %v", err)
	}
	tests := []struct {
		name string
		p    config.Process
		want string
	}{
		{"no shutdown time", config.Process{TraceSampleRatio: 1}, "SVC_SHUTDOWN_TIMEOUT"},
		{"ratio above 1", config.Process{ShutdownTimeout: time.Second, TraceSampleRatio: 1.5}, "SVC_TRACE_SAMPLE_RATIO"},
		{"negative ratio", config.Process{ShutdownTimeout: time.Second, TraceSampleRatio: -0.1}, "SVC_TRACE_SAMPLE_RATIO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate("SVC_")
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalid naming %s", err, tt.want)
			}
		})
	}
}
