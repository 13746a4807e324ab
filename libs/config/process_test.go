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
	ok := httpDefaults(config.Process{ShutdownTimeout: time.Second, TraceSampleRatio: 0.5})
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

// httpDefaults is p with the HTTP limits at their defaults.
func httpDefaults(p config.Process) config.Process {
	p.HTTPReadHeaderTimeout, p.HTTPReadTimeout, p.HTTPWriteTimeout, p.HTTPIdleTimeout = 5*time.Second, 10*time.Second, 30*time.Second, time.Minute
	p.HTTPMaxHeaderBytes, p.HTTPMaxConns = 16<<10, 512
	return p
}

func TestProcessHTTPLimits(t *testing.T) {
	for _, k := range []string{"SVC_HTTP_READ_TIMEOUT", "SVC_HTTP_WRITE_TIMEOUT", "SVC_HTTP_MAX_CONNS", config.FileVar} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	var c service
	if err := config.Load(&c); err != nil {
		t.Fatal(err)
	}
	if want := httpDefaults(c.Process); c.Process != want {
		t.Errorf("defaults = %+v, want %+v", c.Process, want)
	}
	base := httpDefaults(config.Process{ShutdownTimeout: time.Second, TraceSampleRatio: 1})
	tests := []struct {
		name   string
		change func(*config.Process)
		want   string
	}{
		{"no read timeout", func(p *config.Process) { p.HTTPReadTimeout = 0 }, "SVC_HTTP_READ_TIMEOUT"},
		{"negative header timeout", func(p *config.Process) { p.HTTPReadHeaderTimeout = -time.Second }, "SVC_HTTP_READ_HEADER_TIMEOUT"},
		{"write within read", func(p *config.Process) { p.HTTPWriteTimeout = p.HTTPReadTimeout }, "SVC_HTTP_WRITE_TIMEOUT"},
		{"tiny headers", func(p *config.Process) { p.HTTPMaxHeaderBytes = 100 }, "SVC_HTTP_MAX_HEADER_BYTES"},
		{"no connections", func(p *config.Process) { p.HTTPMaxConns = 0 }, "SVC_HTTP_MAX_CONNS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base
			tt.change(&p)
			err := p.Validate("SVC_")
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalid naming %s", err, tt.want)
			}
		})
	}
}

func TestAPIValidate(t *testing.T) {
	valid := [][]string{
		nil,
		{"*"},
		{"https://app.example.com"},
		{"http://localhost:5173", " https://App.Example.com "},
	}
	for _, origins := range valid {
		a := config.API{MaxBodyBytes: 64 << 10, GRPCMaxConns: 1, CORSAllowedOrigins: origins}
		if err := a.Validate("SVC_"); err != nil {
			t.Errorf("origins %q: %v", origins, err)
		}
	}
	tests := []struct {
		name string
		a    config.API
		want string
	}{
		{"tiny body", config.API{MaxBodyBytes: 10, GRPCMaxConns: 1}, "SVC_HTTP_MAX_BODY_BYTES"},
		{"huge body", config.API{MaxBodyBytes: 1 << 30, GRPCMaxConns: 1}, "SVC_HTTP_MAX_BODY_BYTES"},
		{"no grpc connections", config.API{MaxBodyBytes: 1 << 16}, "SVC_GRPC_MAX_CONNS"},
		{"star among others", config.API{MaxBodyBytes: 1 << 16, GRPCMaxConns: 1, CORSAllowedOrigins: []string{"*", "https://a.example"}}, "SVC_CORS_ALLOWED_ORIGINS"},
		{"null origin", config.API{MaxBodyBytes: 1 << 16, GRPCMaxConns: 1, CORSAllowedOrigins: []string{"null"}}, "SVC_CORS_ALLOWED_ORIGINS"},
		{"path", config.API{MaxBodyBytes: 1 << 16, GRPCMaxConns: 1, CORSAllowedOrigins: []string{"https://a.example/"}}, "SVC_CORS_ALLOWED_ORIGINS"},
		{"wildcard host", config.API{MaxBodyBytes: 1 << 16, GRPCMaxConns: 1, CORSAllowedOrigins: []string{"https://*.example"}}, "SVC_CORS_ALLOWED_ORIGINS"},
		{"no scheme", config.API{MaxBodyBytes: 1 << 16, GRPCMaxConns: 1, CORSAllowedOrigins: []string{"app.example.com"}}, "SVC_CORS_ALLOWED_ORIGINS"},
		{"other scheme", config.API{MaxBodyBytes: 1 << 16, GRPCMaxConns: 1, CORSAllowedOrigins: []string{"chrome-extension://abc"}}, "SVC_CORS_ALLOWED_ORIGINS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.Validate("SVC_")
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalid naming %s", err, tt.want)
			}
		})
	}
}
