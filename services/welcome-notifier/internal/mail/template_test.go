package mail_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
)

const userID = "5d1c8f0e-2f4b-4a57-a3e8-0c6f1f2b9e42"

func TestKindsHaveTemplates(t *testing.T) {
	t.Parallel()
	for _, k := range mail.Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			body, err := k.Template().Render(mail.Data{Name: "Ada Lovelace", FullName: "Ada Lovelace", Email: "ada@example.test", UserID: userID})
			if err != nil || body == "" {
				t.Fatalf("built-in template renders %q, %v", body, err)
			}
		})
	}
}

func TestWelcomeTemplate(t *testing.T) {
	t.Parallel()
	body, err := mail.Welcome.Template().Render(mail.Data{Name: "Ada Lovelace", FullName: "Ada Lovelace", Email: "ada@example.test", UserID: userID})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(body, "Hello Ada Lovelace,\n") || !strings.Contains(body, "ada@example.test") {
		t.Fatalf("welcome body = %q", body)
	}
}

func TestLoadTemplate(t *testing.T) {
	t.Parallel()
	custom := filepath.Join(t.TempDir(), "welcome.tmpl")
	if err := os.WriteFile(custom, []byte("Hi {{.Name}} ({{.Email}}){{if .FullName}}, full name on file{{end}}"), 0o600); err != nil {
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
		{mail.Data{Name: "Ada Lovelace", FullName: "Ada Lovelace", Email: "ada@example.test"}, "Hi Ada Lovelace (ada@example.test), full name on file"},
		{mail.Data{Name: "ada", Email: "ada@example.test"}, "Hi ada (ada@example.test)"},
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
	for _, bad := range []string{"Hi {{.Name", "Hi {{.Nickname}}"} {
		if _, err := mail.ParseTemplate(bad); err == nil {
			t.Errorf("ParseTemplate(%q) succeeded", bad)
		}
	}
}
