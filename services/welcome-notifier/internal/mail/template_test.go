package mail_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
)

const userID = "5d1c8f0e-2f4b-4a57-a3e8-0c6f1f2b9e42"

func TestKindsHaveTemplates(t *testing.T) {
	t.Parallel()
	for _, k := range mail.Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			body, err := k.Template().Render(mail.Data{Email: "ada@example.test", UserID: userID})
			if err != nil || body == "" {
				t.Fatalf("built-in template renders %q, %v", body, err)
			}
			if k.Subject() == "" {
				t.Fatal("no built-in subject")
			}
		})
	}
}

func TestWelcomeTemplate(t *testing.T) {
	t.Parallel()
	body, err := mail.Welcome.Template().Render(mail.Data{Email: "ada@example.test", UserID: userID})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(body, "Hello,\n") || !strings.Contains(body, "ada@example.test") {
		t.Fatalf("welcome body = %q", body)
	}
}

func TestAccountTemplates(t *testing.T) {
	t.Parallel()
	expires := time.Date(2026, 12, 7, 1, 30, 0, 0, time.FixedZone("CET", 3600))
	const link = "http://127.0.0.1:8000/account/x?token=abc-_1"
	tests := []struct {
		kind   mail.Kind
		data   mail.Data
		want   []string
		absent []string
	}{
		{mail.VerifyEmail, mail.Data{Link: link, ExpiresAt: expires},
			[]string{"\n" + link + "\n", "until 7 December 2026, 00:30 UTC", "ada@example.test"}, nil},
		{mail.PasswordReset, mail.Data{Link: link, ExpiresAt: expires},
			[]string{"\n" + link + "\n", "until 7 December 2026, 00:30 UTC", "If this was not you, ignore this message"}, nil},
		{mail.PasswordChanged, mail.Data{Method: "reset"},
			[]string{"was reset through a\nlink", "If this was not you, reset your password"}, []string{"knew the old password"}},
		{mail.PasswordChanged, mail.Data{Method: "change"},
			[]string{"knew the old password", "If this was not you, reset your password"}, []string{"was reset"}},
		{mail.PasswordChanged, mail.Data{},
			[]string{"was changed.\n", "If this was not you, reset your password"}, []string{"was reset", "knew the old"}},
	}
	for _, tt := range tests {
		d := tt.data
		d.Email = "ada@example.test"
		body, err := tt.kind.Template().Render(d)
		if err != nil {
			t.Fatalf("%s: %v", tt.kind, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s body lacks %q:\n%s", tt.kind, w, body)
			}
		}
		for _, a := range tt.absent {
			if strings.Contains(body, a) {
				t.Errorf("%s body has %q:\n%s", tt.kind, a, body)
			}
		}
	}
}

func TestLoadTemplate(t *testing.T) {
	t.Parallel()
	custom := filepath.Join(t.TempDir(), "welcome.tmpl")
	if err := os.WriteFile(custom, []byte("Hi ({{.Email}}){{if .UserID}}, id on file{{end}}"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl, err := mail.LoadTemplate(mail.Welcome, custom)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		data mail.Data
		want string
	}{
		{mail.Data{UserID: userID, Email: "ada@example.test"}, "Hi (ada@example.test), id on file"},
		{mail.Data{Email: "ada@example.test"}, "Hi (ada@example.test)"},
	} {
		if got, err := tmpl.Render(tt.data); err != nil || got != tt.want {
			t.Errorf("Render = %q, %v; want %q", got, err, tt.want)
		}
	}

	if got, err := mail.LoadTemplate(mail.Welcome, ""); err != nil || got == nil {
		t.Fatalf("LoadTemplate(\"\") = %v, %v; want the built-in one", got, err)
	}
	if _, err := mail.LoadTemplate(mail.Welcome, filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadTemplate(missing) = %v, want ErrNotExist", err)
	}
	// A template of an earlier version, greeting by name, fails at start.
	for _, bad := range []string{"Hi {{.Email", "Hi {{.Nickname}}", "Hello {{.Name}}", "{{.FullName}}"} {
		if _, err := mail.ParseTemplate(bad); err == nil {
			t.Errorf("ParseTemplate(%q) succeeded", bad)
		}
	}
}
