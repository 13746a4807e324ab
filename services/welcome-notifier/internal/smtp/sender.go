package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netsmtp "net/smtp"
	"net/textproto"
	"regexp"
	"time"

	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
)

// TLS modes of a Sender's connection.
const (
	TLSNone     = "none"     // plain text, for a relay on the same host or network (Mailpit)
	TLSStartTLS = "starttls" // upgrade with STARTTLS, which the server must offer
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS, port 465)
)

// Config says how a Sender reaches its SMTP server.
type Config struct {
	// Addr is host:port of the server.
	Addr string
	// Username and Password, when set, authenticate with AUTH PLAIN.
	// net/smtp refuses to send them unencrypted to anything but localhost.
	Username string
	Password string
	// TLS is TLSNone, TLSStartTLS or TLSImplicit; empty means TLSNone.
	TLS string
	// Timeout bounds each delivery and each Check, from dialling to QUIT.
	Timeout time.Duration
	// TLSConfig, when not nil, replaces the default client configuration
	// (system roots, ServerName from Addr).
	TLSConfig *tls.Config
}

// Sender delivers messages over SMTP, one session per message: a
// welcome e-mail is sent once per user, so a pooled connection would idle
// far longer than it works.
type Sender struct {
	cfg  Config
	host string
}

// NewSender checks cfg and returns a Sender; it does not connect.
func NewSender(cfg Config) (*Sender, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtp: address %q: %w", cfg.Addr, err)
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = TLSNone
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return nil, fmt.Errorf("smtp: unknown TLS mode %q", cfg.TLS)
	}
	if cfg.Timeout <= 0 {
		return nil, errors.New("smtp: timeout must be positive")
	}
	if cfg.TLSConfig == nil {
		cfg.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.TLSConfig.ServerName == "" {
		cfg.TLSConfig = cfg.TLSConfig.Clone()
		cfg.TLSConfig.ServerName = host
	}
	return &Sender{cfg: cfg, host: host}, nil
}

// Send delivers m. It returns nil exactly when the server accepted the
// message data; otherwise an *Error (see the package documentation for what
// its Permanent method means).
func (s *Sender) Send(ctx context.Context, m mail.Message) error {
	data, err := m.Bytes()
	if err != nil {
		return &Error{Step: StepCompose, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	c, release, err := s.open(ctx)
	if err != nil {
		return err
	}
	defer release()

	if s.cfg.Username != "" {
		if err := c.Auth(netsmtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.host)); err != nil {
			return stepError(ctx, StepAuth, err)
		}
	}
	if err := c.Mail(m.From.Address); err != nil {
		return stepError(ctx, StepMail, err)
	}
	if err := c.Rcpt(m.To.Address); err != nil {
		return stepError(ctx, StepRcpt, err)
	}
	w, err := c.Data()
	if err != nil {
		return stepError(ctx, StepData, err)
	}
	if _, err := w.Write(data); err != nil {
		return stepError(ctx, StepData, err)
	}
	// Close sends the final dot and reads the server's verdict: from a
	// success on, the message is the server's.
	if err := w.Close(); err != nil {
		return stepError(ctx, StepData, err)
	}
	// A failing QUIT cannot take the message back; it only leaves the
	// connection to be closed by release.
	_ = c.Quit()
	return nil
}

// Check reports whether the server greets, answers EHLO and, when
// configured, upgrades to TLS; it does not authenticate, so a readiness
// probe cannot lock an account.
func (s *Sender) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	c, release, err := s.open(ctx)
	if err != nil {
		return err
	}
	defer release()
	if err := c.Noop(); err != nil { // EHLO first, unless STARTTLS did it
		return stepError(ctx, StepHello, err)
	}
	if err := c.Quit(); err != nil {
		return stepError(ctx, StepQuit, err)
	}
	return nil
}

// open dials, reads the greeting and sets up TLS. Every read and write on
// the connection is bounded by ctx's deadline, and cancelling ctx aborts
// one in progress. release closes the connection.
func (s *Sender) open(ctx context.Context) (_ *netsmtp.Client, _ func(), err error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return nil, nil, stepError(ctx, StepConnect, err)
	}
	// net/smtp takes no context: when ctx ends (its deadline, which
	// includes the sender's timeout, or a cancellation), a deadline in the
	// past makes the blocked read or write return at once. Setting it only
	// then means the I/O error always comes after ctx.Err() is set, so
	// stepError reports the context's reason.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	release := func() {
		stop()
		_ = conn.Close()
	}
	defer func() {
		if err != nil {
			release()
		}
	}()

	if s.cfg.TLS == TLSImplicit {
		tc := tls.Client(conn, s.cfg.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, stepError(ctx, StepTLS, err)
		}
		conn = tc
	}
	c, err := netsmtp.NewClient(conn, s.host)
	if err != nil {
		return nil, nil, stepError(ctx, StepConnect, err)
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return nil, nil, &Error{Step: StepTLS, Err: errors.New("server does not offer STARTTLS")}
		}
		if err := c.StartTLS(s.cfg.TLSConfig); err != nil {
			return nil, nil, stepError(ctx, StepTLS, err)
		}
	}
	return c, release, nil
}

// Step names the part of an SMTP session that failed.
type Step string

// The steps of a session, in order.
const (
	StepCompose Step = "compose"
	StepConnect Step = "connect"
	StepTLS     Step = "tls"
	StepHello   Step = "hello"
	StepAuth    Step = "auth"
	StepMail    Step = "mail from"
	StepRcpt    Step = "rcpt to"
	StepData    Step = "data"
	StepQuit    Step = "quit"
)

// Error is a failed delivery: the step, the server's reply code (0 when the
// server never answered, as with a refused connection) and the cause.
type Error struct {
	Step Step
	Code int
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("smtp %s: %v", e.Step, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether sending the same message again can never
// succeed: it is malformed, or the server answered its recipient or its data
// with a 5xx reply (550 no such user, 554 rejected). A 5xx to the sender
// address or the credentials is not permanent: those are the notifier's
// configuration, and a fixed configuration delivers the message.
func (e *Error) Permanent() bool {
	switch e.Step {
	case StepCompose:
		return true
	case StepRcpt, StepData:
		return e.Code >= 500 && e.Code < 600
	}
	return false
}

// Transient reports whether the server cannot take the message now but
// the same message can go later: every failure that is not Permanent
// except a message that cannot be composed. That is the server unreachable,
// a timeout, a TLS or protocol failure, a 4xx reply, and 5xx replies to
// our own sender address or credentials (configuration the operator fixes;
// until then every message would fail alike, so waiting loses nothing).
func (e *Error) Transient() bool { return !e.Permanent() }

// stepError wraps err from step, keeping the server's reply code, and
// reports cancellation or the deadline as the cause when ctx ended, rather
// than the "i/o timeout" the aborted connection produced.
//
// A server's reply often quotes the recipient ("550 5.1.1 <ada@example.com>:
// no such user"), and the error ends up in logs and dead-letter headers:
// addresses in it are replaced by "[address]".
func stepError(ctx context.Context, step Step, err error) error {
	e := &Error{Step: step, Err: err}
	var reply *textproto.Error
	if errors.As(err, &reply) {
		e.Code = reply.Code
		e.Err = &textproto.Error{Code: reply.Code, Msg: RedactAddresses(reply.Msg)}
	} else if ctx.Err() != nil {
		e.Err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	return e
}

// address matches what looks like an e-mail address in a server's reply.
var address = regexp.MustCompile(`[^\s<>"'(),;:\[\]]+@[^\s<>"'(),;:\[\]]+`)

// RedactAddresses replaces every e-mail address in s by "[address]".
func RedactAddresses(s string) string { return address.ReplaceAllString(s, "[address]") }
