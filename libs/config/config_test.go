package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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

func TestRedactDSN(t *testing.T) {
	tests := map[string]string{
		"postgres://app:hunter2@db:5432/sso?sslmode=disable":          "postgres://app:xxxxx@db:5432/sso?sslmode=disable",
		"postgres://app@db:5432/sso?password=hunter2&sslmode=disable": "postgres://app@db:5432/sso?password=xxxxx&sslmode=disable",
		"postgres://db/sso?PASSWORD=hunter2":                          "postgres://db/sso?PASSWORD=xxxxx",
		"postgres://a:b@db/sso?sslpassword=hunter2":                   "postgres://a:xxxxx@db/sso?sslpassword=xxxxx",
		"host=db port=5432 user=app password=hunter2 dbname=sso":      "host=db port=5432 user=app password=xxxxx dbname=sso",
		"host=db password = hunter2 dbname=sso":                       "host=db password = xxxxx dbname=sso",
		`host=db password='hun ter\'2' dbname=sso`:                    "host=db password=xxxxx dbname=sso",
		"password=hunter2": "password=xxxxx",
		"host=db sslpassword=hunter2 sslmode=verify-full":      "host=db sslpassword=xxxxx sslmode=verify-full",
		"http://registry:8081/apis":                            "http://registry:8081/apis",
		"http://user:hunter2@registry:8081/apis?token=hunter2": "http://user:xxxxx@registry:8081/apis?token=xxxxx",
		"postgres://app:hunter2@db:bad port/sso":               "[redacted]",
		"":                                                     "",
	}
	for in, want := range tests {
		got := config.RedactDSN(in)
		if got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "hunter2") || strings.Contains(got, "hun ter") {
			t.Errorf("RedactDSN(%q) = %q still holds the secret", in, got)
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
