package welcome

import (
	_ "embed"
	"fmt"
	"os"
	"strings"
	"text/template"
	"time"
	"unicode"
)

//go:embed welcome.txt.tmpl
var defaultTemplate string

// TemplateData is what a body template sees.
type TemplateData struct {
	// Name is how to address the user: the full name they gave, or the
	// local part of their e-mail address when they gave none.
	Name string
	// FullName is the full name as registered, possibly empty.
	FullName     string
	Email        string
	UserID       string
	RegisteredAt time.Time
}

// Template renders the body of the welcome e-mail.
type Template struct {
	t *template.Template
}

// DefaultTemplate returns the built-in body template.
func DefaultTemplate() *Template {
	t, err := ParseTemplate(defaultTemplate)
	if err != nil {
		panic(fmt.Sprintf("welcome: built-in template: %v", err))
	}
	return t
}

// LoadTemplate reads a text/template from path; an empty path means the
// built-in one.
func LoadTemplate(path string) (*Template, error) {
	if path == "" {
		return DefaultTemplate(), nil
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("welcome template: %w", err)
	}
	return ParseTemplate(string(text))
}

// ParseTemplate parses text as a text/template over TemplateData and renders
// it once with sample data, so a template that names a missing field fails
// at start rather than on every event.
func ParseTemplate(text string) (*Template, error) {
	t, err := template.New("welcome").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("welcome template: %w", err)
	}
	tmpl := &Template{t: t}
	if _, err := tmpl.Render(TemplateData{
		Name: "Ada Lovelace", FullName: "Ada Lovelace", Email: "ada@example.test",
		UserID: "00000000-0000-0000-0000-000000000000", RegisteredAt: time.Unix(0, 0).UTC(),
	}); err != nil {
		return nil, err
	}
	return tmpl, nil
}

// Render returns the body for d.
func (t *Template) Render(d TemplateData) (string, error) {
	var b strings.Builder
	if err := t.t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("welcome template: %w", err)
	}
	return b.String(), nil
}

// cleanName is a full name fit for a greeting and a To header: control
// characters (a line break) become spaces, and runs of white space one.
func cleanName(fullName string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, fullName)), " ")
}

// greetingName is how the mail addresses the user: the cleaned full name,
// or, when there is none, the local part of the address ("ada" for
// ada@example.test).
func greetingName(fullName, email string) string {
	if fullName != "" {
		return fullName
	}
	local, _, _ := strings.Cut(email, "@")
	return local
}
