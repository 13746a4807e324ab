package smtp_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
	"github.com/ssokit/platform/services/welcome-notifier/internal/smtp"
)

// fakeSMTP is a scripted SMTP server on a loopback port: it answers every
// command with 250 (or the reply configured for its verb) and keeps what it
// received, so the sender's handling of each reply can be tested without a
// real server that would have to be made to fail.
type fakeSMTP struct {
	addr    string
	replies map[string]string // verb ("MAIL", "RCPT", "DATA." for the end of data) -> reply line
	silent  bool              // never send the greeting
	ext     []string          // extensions announced after EHLO

	mu       sync.Mutex
	commands []string
	data     []string
}

func startFake(t *testing.T, f *fakeSMTP) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { f.serve(conn) })
		}
	})
	return f
}

func (f *fakeSMTP) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := textproto.NewReader(bufio.NewReader(conn))
	if f.silent {
		_, _ = r.ReadLine() // until the client gives up
		return
	}
	write := func(s string) { _, _ = conn.Write([]byte(s + "\r\n")) }
	write("220 fake ESMTP")
	for {
		line, err := r.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		f.mu.Lock()
		f.commands = append(f.commands, line)
		f.mu.Unlock()
		if reply, ok := f.replies[verb]; ok {
			write(reply)
			continue
		}
		switch verb {
		case "EHLO":
			ext := append([]string{"fake"}, f.ext...)
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				write("250" + sep + e)
			}
		case "AUTH":
			write("235 authenticated")
		case "DATA":
			write("354 go ahead")
			lines, err := r.ReadDotLines()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.data = append(f.data, strings.Join(lines, "\n"))
			f.mu.Unlock()
			if reply, ok := f.replies["DATA."]; ok {
				write(reply)
			} else {
				write("250 queued")
			}
		case "QUIT":
			write("221 bye")
			return
		default:
			write("250 ok")
		}
	}
}

func (f *fakeSMTP) received() (commands, data []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.commands...), append([]string(nil), f.data...)
}

func testMessage() mail.Message {
	return mail.Message{
		From:      netmail.Address{Name: "ssokit", Address: "welcome@ssokit.local"},
		To:        netmail.Address{Name: "Ada", Address: "ada@example.test"},
		Subject:   "Welcome",
		Body:      "Hello Ada",
		MessageID: "welcome.1@ssokit.local",
	}
}

func newSender(t *testing.T, cfg smtp.Config) *smtp.Sender {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	s, err := smtp.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendDeliversOverSMTP(t *testing.T) {
	t.Parallel()
	f := startFake(t, &fakeSMTP{ext: []string{"AUTH PLAIN"}})
	s := newSender(t, smtp.Config{Addr: f.addr, Username: "notifier", Password: "s3cret"})
	if err := s.Send(t.Context(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	commands, data := f.received()
	want := []string{
		"EHLO localhost",
		"AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00notifier\x00s3cret")),
		"MAIL FROM:<welcome@ssokit.local>",
		"RCPT TO:<ada@example.test>",
		"DATA",
		"QUIT",
	}
	for i, w := range want {
		if i >= len(commands) || !strings.HasPrefix(commands[i], w) {
			t.Fatalf("commands = %q, want prefixes %q", commands, want)
		}
	}
	if len(data) != 1 || !strings.Contains(data[0], "Message-ID: <welcome.1@ssokit.local>") || !strings.Contains(data[0], "Hello Ada") {
		t.Fatalf("data = %q, want the composed message", data)
	}
}

func TestSendClassifiesFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		replies   map[string]string
		step      smtp.Step
		code      int
		permanent bool
	}{
		{"unknown recipient", map[string]string{"RCPT": "550 5.1.1 <ada@example.test>: no such user ada@example.test"}, smtp.StepRcpt, 550, true},
		{"recipient relaying denied", map[string]string{"RCPT": "554 5.7.1 relay denied"}, smtp.StepRcpt, 554, true},
		{"mailbox busy", map[string]string{"RCPT": "450 4.2.1 try later"}, smtp.StepRcpt, 450, false},
		{"greylisted", map[string]string{"MAIL": "451 4.7.1 greylisted"}, smtp.StepMail, 451, false},
		{"our sender rejected", map[string]string{"MAIL": "553 5.7.1 sender not allowed"}, smtp.StepMail, 553, false},
		{"credentials rejected", map[string]string{"AUTH": "535 5.7.8 bad credentials"}, smtp.StepAuth, 535, false},
		{"message rejected", map[string]string{"DATA.": "554 5.6.0 content rejected"}, smtp.StepData, 554, true},
		{"message deferred", map[string]string{"DATA.": "452 4.3.1 insufficient storage"}, smtp.StepData, 452, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, &fakeSMTP{replies: tt.replies, ext: []string{"AUTH PLAIN"}})
			s := newSender(t, smtp.Config{Addr: f.addr, Username: "u", Password: "p"})
			err := s.Send(t.Context(), testMessage())
			var e *smtp.Error
			if !errors.As(err, &e) {
				t.Fatalf("Send = %v, want a *smtp.Error", err)
			}
			if e.Step != tt.step || e.Code != tt.code || e.Permanent() != tt.permanent {
				t.Fatalf("Send = step %q code %d permanent %v (%v); want %q %d %v", e.Step, e.Code, e.Permanent(), err, tt.step, tt.code, tt.permanent)
			}
			// The error goes to logs and dead-letter headers: never the
			// address a server quotes back.
			if strings.Contains(err.Error(), "@") {
				t.Fatalf("Send = %v: the error carries an address", err)
			}
			// Every failure is one or the other: the recipient or message
			// refused for good, or the server (or our configuration of it)
			// that a wait or a fix cures.
			if e.Transient() == tt.permanent {
				t.Fatalf("Send = %v: transient %v, permanent %v", err, e.Transient(), e.Permanent())
			}
		})
	}
}

func TestSendConnectionRefusedIsTemporary(t *testing.T) {
	t.Parallel()
	s := newSender(t, smtp.Config{Addr: "127.0.0.1:1"})
	err := s.Send(t.Context(), testMessage())
	var e *smtp.Error
	if !errors.As(err, &e) || e.Step != smtp.StepConnect || e.Code != 0 || e.Permanent() || !e.Transient() {
		t.Fatalf("Send = %#v, want a transient connect error", err)
	}
}

func TestSendInvalidMessageIsPermanent(t *testing.T) {
	t.Parallel()
	m := testMessage()
	m.To.Address = "not an address"
	// Nothing listens: a malformed message must fail before connecting.
	err := newSender(t, smtp.Config{Addr: "127.0.0.1:1"}).Send(t.Context(), m)
	var e *smtp.Error
	if !errors.As(err, &e) || !e.Permanent() || !errors.Is(err, mail.ErrInvalidMessage) {
		t.Fatalf("Send = %v, want a permanent ErrInvalidMessage", err)
	}
}

func TestSendStopsAtDeadlineAndCancel(t *testing.T) {
	t.Parallel()
	f := startFake(t, &fakeSMTP{silent: true}) // accepts, never greets
	tests := []struct {
		name    string
		timeout time.Duration // the sender's own
		ctx     func(t *testing.T) context.Context
		want    error
	}{
		{"context deadline", 5 * time.Second, func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
		{"sender timeout", 200 * time.Millisecond, func(t *testing.T) context.Context { return t.Context() }, context.DeadlineExceeded},
		{"cancelled", 5 * time.Second, func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(200*time.Millisecond, cancel)
			return ctx
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSender(t, smtp.Config{Addr: f.addr, Timeout: tt.timeout})
			start := time.Now()
			err := s.Send(tt.ctx(t), testMessage())
			if !errors.Is(err, tt.want) {
				t.Fatalf("Send = %v, want %v", err, tt.want)
			}
			var e *smtp.Error
			if !errors.As(err, &e) || e.Permanent() {
				t.Fatalf("Send = %v, want a temporary *smtp.Error", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("Send took %s to notice", d)
			}
		})
	}
}

func TestStartTLSRequired(t *testing.T) {
	t.Parallel()
	f := startFake(t, &fakeSMTP{}) // offers no STARTTLS
	s := newSender(t, smtp.Config{Addr: f.addr, TLS: smtp.TLSStartTLS})
	for name, err := range map[string]error{
		"Send":  s.Send(t.Context(), testMessage()),
		"Check": s.Check(t.Context()),
	} {
		var e *smtp.Error
		if !errors.As(err, &e) || e.Step != smtp.StepTLS {
			t.Errorf("%s = %v, want a tls step error", name, err)
		}
	}
	commands, _ := f.received()
	for _, c := range commands {
		if strings.HasPrefix(c, "MAIL") || strings.HasPrefix(c, "AUTH") {
			t.Fatalf("sent %q over a connection that should have been TLS", c)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	f := startFake(t, &fakeSMTP{})
	if err := newSender(t, smtp.Config{Addr: f.addr}).Check(t.Context()); err != nil {
		t.Fatalf("Check against a live server: %v", err)
	}
	var e *smtp.Error
	if err := newSender(t, smtp.Config{Addr: "127.0.0.1:1"}).Check(t.Context()); !errors.As(err, &e) || e.Step != smtp.StepConnect {
		t.Fatalf("Check against nothing = %v, want a connect error", err)
	}
}

func TestNewSenderRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []smtp.Config{
		{Addr: "no-port", Timeout: time.Second},
		{Addr: "127.0.0.1:25", TLS: "ssl", Timeout: time.Second},
		{Addr: "127.0.0.1:25"},
	} {
		if _, err := smtp.NewSender(cfg); err == nil {
			t.Errorf("NewSender(%+v) succeeded", cfg)
		}
	}
}

func TestRedactAddresses(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"5.1.1 <ada@example.test>: Recipient address rejected":   "5.1.1 <[address]>: Recipient address rejected",
		"user ada.l+x@mail.example.test unknown, bob@b.test too": "user [address] unknown, [address] too",
		"4.2.1 try later": "4.2.1 try later",
	} {
		if got := smtp.RedactAddresses(in); got != want {
			t.Errorf("RedactAddresses(%q) = %q, want %q", in, got, want)
		}
	}
}
