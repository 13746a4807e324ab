package mail_test

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
)

func TestBytesWritesHeadersAndBody(t *testing.T) {
	t.Parallel()
	date := time.Date(2026, 11, 26, 12, 30, 0, 0, time.UTC)
	tests := []struct {
		name    string
		to      netmail.Address
		subject string
		body    string
	}{
		{"ascii", netmail.Address{Name: "Ada Lovelace", Address: "ada@example.test"}, "Welcome to ssokit", "Hello Ada,\nwelcome.\n"},
		{"non-ascii name and subject", netmail.Address{Name: "Zoë Ångström", Address: "zoe@example.test"}, "Willkommen, Zoë!", "Hallo Zoë,\r\nschön, dass du da bist.\r\n"},
		{"name with specials", netmail.Address{Name: `O'Brien, "Bob" (Jr.)`, Address: "bob@example.test"}, "Welcome", "Hi Bob"},
		{"no name", netmail.Address{Address: "anon@example.test"}, "Welcome", "Hi"},
		{"long lines and trailing spaces", netmail.Address{Address: "long@example.test"}, "Welcome", strings.Repeat("a", 200) + "   \nend = done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := mail.Message{
				From:      netmail.Address{Name: "ssokit", Address: "welcome@ssokit.local"},
				To:        tt.to,
				Subject:   tt.subject,
				Body:      tt.body,
				MessageID: "welcome.42@ssokit.local",
				Date:      date,
			}
			raw, err := m.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			assertLines(t, raw)
			parsed, err := netmail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("not a parsable message: %v\n%s", err, raw)
			}
			h := parsed.Header
			from, err := h.AddressList("From")
			if err != nil || len(from) != 1 || *from[0] != m.From {
				t.Errorf("From = %v (%v), want %v", from, err, m.From)
			}
			to, err := h.AddressList("To")
			if err != nil || len(to) != 1 || *to[0] != tt.to {
				t.Errorf("To = %v (%v), want %v", to, err, tt.to)
			}
			var dec mime.WordDecoder
			subject, err := dec.DecodeHeader(h.Get("Subject"))
			if err != nil || subject != tt.subject {
				t.Errorf("Subject = %q (%v), want %q", subject, err, tt.subject)
			}
			if got, err := h.Date(); err != nil || !got.Equal(date) {
				t.Errorf("Date = %v (%v), want %v", got, err, date)
			}
			want := map[string]string{
				"Message-Id":                "<welcome.42@ssokit.local>",
				"Mime-Version":              "1.0",
				"Content-Type":              "text/plain; charset=utf-8",
				"Content-Transfer-Encoding": "quoted-printable",
				"Auto-Submitted":            "auto-generated",
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			body, err := io.ReadAll(quotedprintable.NewReader(parsed.Body))
			if err != nil {
				t.Fatal(err)
			}
			wantBody := strings.ReplaceAll(strings.ReplaceAll(tt.body, "\r\n", "\n"), "\n", "\r\n")
			if !strings.HasSuffix(wantBody, "\r\n") {
				wantBody += "\r\n"
			}
			if string(body) != wantBody {
				t.Errorf("body = %q, want %q", body, wantBody)
			}
		})
	}
}

func TestBytesEncodesControlCharactersInHeaders(t *testing.T) {
	t.Parallel()
	m := mail.Message{
		From:      netmail.Address{Address: "welcome@ssokit.local"},
		To:        netmail.Address{Name: "Eve\r\nBcc: victim@example.test", Address: "eve@example.test"},
		Subject:   "Hi\r\nBcc: victim@example.test",
		Body:      "x",
		MessageID: "a@b",
	}
	raw, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if bcc := parsed.Header.Get("Bcc"); bcc != "" {
		t.Fatalf("a line break in a header value injected Bcc: %q\n%s", bcc, raw)
	}
	var dec mime.WordDecoder
	if got, _ := dec.DecodeHeader(parsed.Header.Get("Subject")); got != m.Subject {
		t.Fatalf("Subject = %q, want %q", got, m.Subject)
	}
}

func TestEncodeHeader(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("Grüße aus dem Norden ", 8)
	tests := []struct {
		in        string
		raw       bool // written as is
		multiline bool
	}{
		{"Welcome to ssokit", true, false},
		{"Willkommen, Zoë", false, false},
		{"日本語の件名", false, false},
		{long, false, true},
	}
	for _, tt := range tests {
		got := mail.EncodeHeader(tt.in)
		if (got == tt.in) != tt.raw {
			t.Errorf("EncodeHeader(%q) = %q; written raw: %v, want %v", tt.in, got, got == tt.in, tt.raw)
		}
		if strings.Contains(got, "\r\n") != tt.multiline {
			t.Errorf("EncodeHeader(%q) = %q; folded: %v, want %v", tt.in, got, !tt.multiline, tt.multiline)
		}
		for _, line := range strings.Split(got, "\r\n") {
			if len(line) > 78 {
				t.Errorf("EncodeHeader(%q) has a line of %d characters: %q", tt.in, len(line), line)
			}
		}
		var dec mime.WordDecoder
		unfolded := strings.ReplaceAll(got, "\r\n", "")
		if back, err := dec.DecodeHeader(unfolded); err != nil || back != tt.in {
			t.Errorf("decoding %q = %q, %v; want %q", got, back, err, tt.in)
		}
	}
}

func TestBytesRejectsInvalidMessages(t *testing.T) {
	t.Parallel()
	good := mail.Message{
		From:      netmail.Address{Address: "welcome@ssokit.local"},
		To:        netmail.Address{Address: "ada@example.test"},
		Subject:   "s",
		MessageID: "welcome.1@ssokit.local",
	}
	tests := []struct {
		name string
		edit func(*mail.Message)
	}{
		{"no recipient", func(m *mail.Message) { m.To.Address = "" }},
		{"recipient with a line break", func(m *mail.Message) { m.To.Address = "ada@example.test\r\nRCPT TO:<x@y>" }},
		{"recipient not an address", func(m *mail.Message) { m.To.Address = "ada" }},
		{"no sender", func(m *mail.Message) { m.From.Address = "" }},
		{"message id without @", func(m *mail.Message) { m.MessageID = "welcome.1" }},
		{"message id with brackets", func(m *mail.Message) { m.MessageID = "<welcome.1@ssokit.local>" }},
		{"message id with space", func(m *mail.Message) { m.MessageID = "welcome 1@ssokit.local" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := good
			tt.edit(&m)
			if _, err := m.Bytes(); !errors.Is(err, mail.ErrInvalidMessage) {
				t.Fatalf("Bytes = %v, want ErrInvalidMessage", err)
			}
		})
	}
	if _, err := good.Bytes(); err != nil {
		t.Fatalf("the good message: %v", err)
	}
}

// assertLines checks the SMTP line rules: CRLF endings only and no line
// longer than 998 characters (RFC 5322 section 2.1.1); quoted-printable
// keeps body lines within 76.
func assertLines(t *testing.T, raw []byte) {
	t.Helper()
	s := string(raw)
	if strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") || strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\r") {
		t.Fatalf("bare CR or LF in %q", s)
	}
	_, body, _ := strings.Cut(s, "\r\n\r\n")
	for _, line := range strings.Split(body, "\r\n") {
		if len(line) > 76 {
			t.Fatalf("body line of %d characters: %q", len(line), line)
		}
	}
}
