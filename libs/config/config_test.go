package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/config"
)

type sample struct {
	Addr    string        `env:"T_ADDR" envDefault:"127.0.0.1:1"`
	Timeout time.Duration `env:"T_TIMEOUT" envDefault:"5s"`
	Secret  string        `env:"T_SECRET"`
}

func (s *sample) Validate() error {
	if s.Timeout <= 0 {
		return config.ErrInvalid
	}
	return nil
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		file    string // contents of CONFIG_FILE; empty means unset
		env     map[string]string
		want    sample
		wantErr error
	}{
		{
			name: "defaults",
			want: sample{Addr: "127.0.0.1:1", Timeout: 5 * time.Second},
		},
		{
			name: "environment overrides defaults",
			env:  map[string]string{"T_ADDR": "10.0.0.1:2", "T_TIMEOUT": "1m"},
			want: sample{Addr: "10.0.0.1:2", Timeout: time.Minute},
		},
		{
			name: "file fills what the environment does not set",
			file: "# shared settings\nT_ADDR=from-file:3\nexport T_SECRET=\"s3cret\"\n\nT_TIMEOUT='2s'\n",
			env:  map[string]string{"T_TIMEOUT": "9s"},
			want: sample{Addr: "from-file:3", Timeout: 9 * time.Second, Secret: "s3cret"},
		},
		{
			name:    "validation runs",
			env:     map[string]string{"T_TIMEOUT": "-1s"},
			wantErr: config.ErrInvalid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"T_ADDR", "T_TIMEOUT", "T_SECRET", config.FileVar} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.file != "" {
				p := filepath.Join(t.TempDir(), "app.env")
				if err := os.WriteFile(p, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
				t.Setenv(config.FileVar, p)
			}
			var got sample
			err := config.Load(&got)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoadRejectsMalformedFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.env")
	if err := os.WriteFile(p, []byte("JUST_A_WORD\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(config.FileVar, p)
	var s sample
	if err := config.Load(&s); err == nil {
		t.Fatal("want an error for a line without '='")
	}
}

func TestRedactURL(t *testing.T) {
	tests := map[string]string{
		"postgres://app:hunter2@db:5432/sso?sslmode=disable": "postgres://app:xxxxx@db:5432/sso?sslmode=disable",
		"http://registry:8081/apis":                          "http://registry:8081/apis",
		"":                                                   "",
	}
	for in, want := range tests {
		if got := config.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRuntimeVarIgnoresTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(path, []byte("GOGC=300\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(config.FileVar, path)
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	if v := config.RuntimeVar("GOGC"); v != "" {
		t.Errorf("RuntimeVar(GOGC) = %q with GOGC only in the file, want \"\"", v)
	}
	t.Setenv("GOGC", "80")
	if v := config.RuntimeVar("GOGC"); v != "80" {
		t.Errorf("RuntimeVar(GOGC) = %q, want 80", v)
	}
}
