package service_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/config"
	"github.com/ssokit/platform/services/sso/internal/service"
)

// How a client may abuse the HTTP port: withhold a body, send a huge one,
// hold connections open. The shared process runs with the default limits;
// tests that need other settings start a second process (ssoWith) through
// the environment variables an operator would set.

// ssoWith starts a second sso process configured from the environment
// with env set on top, sharing the run's database, Redis prefix, signing
// keys and topic with the shared process, and returns its HTTP address.
// Its callers cannot run in parallel (t.Setenv).
func ssoWith(t *testing.T, env map[string]string) string {
	t.Helper()
	h := sso(t)
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DB, cfg.Redis, cfg.Tokens, cfg.Login = h.cfg.DB, h.cfg.Redis, h.cfg.Tokens, h.cfg.Login
	cfg.Kafka, cfg.Events, cfg.ShutdownTimeout = h.cfg.Kafka, h.cfg.Events, h.cfg.ShutdownTimeout
	cfg.OIDC = h.cfg.OIDC

	ctx, cancel := context.WithCancel(context.Background())
	proc, err := service.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("second sso stopped with: %v", err)
		}
	})
	addr := proc.Addr("http")
	if !testenv.Eventually(10*time.Second, 50*time.Millisecond, func() bool {
		return oneShot(addr, "/readyz") == http.StatusOK
	}) {
		t.Fatal("second sso never became ready")
	}
	return addr
}

// oneShot sends GET path on a connection of its own, closed afterwards,
// and returns the status (0 on a transport error).
func oneShot(addr, path string) int {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestWithheldBodyIsCutOff sends the headers of a login, announcing a body
// it never finishes. The server must give up at its read timeout (10 s by
// default) with 408, or at least close the connection, not wait for ever.
func TestWithheldBodyIsCutOff(t *testing.T) {
	t.Parallel()
	h := sso(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(h.baseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = io.WriteString(c, "POST /v1/auth/login HTTP/1.1\r\nHost: sso\r\nContent-Type: application/json\r\n"+
		"Content-Length: 100\r\n\r\n{\"email\":")
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(start.Add(20 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	took := time.Since(start)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server still waits for the body after %s", took.Round(time.Second))
	}
	if took > 12*time.Second {
		t.Fatalf("the server gave up after %s, want within the 10 s read timeout", took.Round(time.Millisecond))
	}
	if err == nil && strings.TrimSpace(line) != "HTTP/1.1 408 Request Timeout" {
		t.Fatalf("answer %q, want 408", line)
	}
	t.Logf("withheld body cut off after %s with %q", took.Round(time.Millisecond), strings.TrimSpace(line))
}

// TestBodyLimit: the API's requests are a few short strings, so a body of
// more than 64 KiB is refused with 413 before it is decoded, and a gRPC
// message of that size likewise.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	h := sso(t)
	body := func(nameLen int) string {
		return fmt.Sprintf(`{"email":%q,"password":%q,"full_name":%q}`, email(t), goodPassword, strings.Repeat("n", nameLen))
	}
	over := h.rest(t, http.MethodPost, "/v1/auth/register", "", body(65<<10))
	if over.Status != http.StatusRequestEntityTooLarge || over.str("message") != "request body is larger than 65536 bytes" {
		t.Fatalf("65 KiB body: %d %s, want 413", over.Status, over.Raw)
	}
	// Under the limit the request reaches the service, whose own rules
	// refuse the name.
	under := h.rest(t, http.MethodPost, "/v1/auth/register", "", body(60<<10))
	if under.Status != http.StatusBadRequest {
		t.Fatalf("60 KiB body: %d %s, want the service's 400", under.Status, under.Raw)
	}

	_, err := h.auth.Register(testenv.Context(t, 10*time.Second), &ssov1.RegisterRequest{
		Email: email(t), Password: goodPassword, FullName: strings.Repeat("n", 100<<10),
	})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("100 KiB gRPC message: %v, want RESOURCE_EXHAUSTED", err)
	}
}

// TestConnectionCap holds as many idle keep-alive connections as the cap
// (SSO_HTTP_MAX_CONNS) allows, then opens two more: those are not served
// while the others stay open, are served once they close, and health
// answers afterwards.
func TestConnectionCap(t *testing.T) {
	const maxConns = 4
	addr := ssoWith(t, map[string]string{"SSO_HTTP_MAX_CONNS": fmt.Sprint(maxConns)})

	get := func(c net.Conn) {
		t.Helper()
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: sso\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	read := func(r *bufio.Reader) (int, error) {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	var held []net.Conn
	for range maxConns {
		c := dial()
		get(c)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if code, err := read(bufio.NewReader(c)); err != nil || code != http.StatusOK {
			t.Fatalf("held connection: %d %v", code, err)
		}
		held = append(held, c)
	}

	type waiting struct {
		c net.Conn
		r *bufio.Reader
	}
	var extra []waiting
	for range 2 {
		c := dial()
		get(c)
		extra = append(extra, waiting{c, bufio.NewReader(c)})
	}
	for i, w := range extra {
		_ = w.c.SetReadDeadline(time.Now().Add(time.Second))
		if code, err := read(w.r); err == nil {
			t.Fatalf("connection %d beyond the cap of %d was served (%d) while the others stayed open", i+1, maxConns, code)
		}
	}

	for _, c := range held {
		c.Close()
	}
	for i, w := range extra {
		_ = w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if code, err := read(w.r); err != nil || code != http.StatusOK {
			t.Fatalf("waiting connection %d after the others closed: %d %v", i+1, code, err)
		}
		w.c.Close()
	}
	if code := oneShot(addr, "/healthz"); code != http.StatusOK {
		t.Fatalf("health after the connections closed: %d", code)
	}
}

// TestCORS runs sso with one allowed origin (SSO_CORS_ALLOWED_ORIGINS): a
// page of that origin may call the API, its preflight answered; a page of
// any other origin gets no CORS header, so its browser sends nothing that
// needs a preflight and shows it no answer.
func TestCORS(t *testing.T) {
	const app = "https://app.example.test"
	addr := ssoWith(t, map[string]string{"SSO_CORS_ALLOWED_ORIGINS": app})
	client := &http.Client{Timeout: 10 * time.Second}
	send := func(method, origin string, preflight bool) *http.Response {
		t.Helper()
		var body io.Reader
		if !preflight {
			body = strings.NewReader(fmt.Sprintf(`{"email":%q,"password":"wrong password"}`, email(t)))
		}
		req, err := http.NewRequestWithContext(testenv.Context(t, 10*time.Second), method, "http://"+addr+"/v1/auth/login", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		if preflight {
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type,authorization")
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	pre := send(http.MethodOptions, app, true)
	h := pre.Header
	if pre.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != app ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		h.Get("Access-Control-Allow-Headers") != "Content-Type, Authorization, X-Request-Id" ||
		h.Get("Access-Control-Max-Age") == "" || !strings.Contains(h.Get("Vary"), "Origin") {
		t.Fatalf("allowed preflight: %d %v", pre.StatusCode, h)
	}
	login := send(http.MethodPost, app, false)
	if login.StatusCode != http.StatusUnauthorized || login.Header.Get("Access-Control-Allow-Origin") != app ||
		!strings.Contains(login.Header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
		t.Fatalf("login from the allowed origin: %d %v", login.StatusCode, login.Header)
	}

	const evil = "https://evil.example.test"
	pre = send(http.MethodOptions, evil, true)
	for k := range pre.Header {
		if strings.HasPrefix(k, "Access-Control-Allow-") {
			t.Errorf("foreign preflight got %s: %q", k, pre.Header.Get(k))
		}
	}
	if pre.StatusCode != http.StatusForbidden {
		t.Errorf("foreign preflight: %d, want 403", pre.StatusCode)
	}
	login = send(http.MethodPost, evil, false)
	if v := login.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("login from a foreign origin allowed for %q", v)
	}
}

// TestNoCORSByDefault: the shared process runs with no allowed origins, so
// even a preflight gets no CORS header.
func TestNoCORSByDefault(t *testing.T) {
	t.Parallel()
	h := sso(t)
	req, err := http.NewRequestWithContext(testenv.Context(t, 10*time.Second), http.MethodOptions, h.baseURL+"/v1/auth/login", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://app.example.test")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for k := range resp.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("default configuration answers %s: %q", k, resp.Header.Get(k))
		}
	}
}
