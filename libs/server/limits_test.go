package server_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/server"
)

// serveHTTP runs an HTTP server with limits and handler h until the test
// ends, and returns its address.
func serveHTTP(t *testing.T, limits server.HTTPLimits, h http.Handler) string {
	t.Helper()
	s, err := server.NewHTTP("http", "127.0.0.1:0", h, limits)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s.Addr()
}

// readAnswer waits up to wait for the server to answer on c or close it,
// and returns the status line ("" when it closed without one) and how long
// that took. It fails the test when the server does neither in time.
func readAnswer(t *testing.T, c net.Conn, wait time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(wait))
	line, err := bufio.NewReader(c).ReadString('\n')
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("server still holds the connection after %s", wait)
	}
	return strings.TrimSpace(line), time.Since(start)
}

func TestHTTPCutsOffAWithheldBody(t *testing.T) {
	body := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			w.WriteHeader(http.StatusRequestTimeout)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	addr := serveHTTP(t, server.HTTPLimits{ReadTimeout: 300 * time.Millisecond, WriteTimeout: time.Second}, body)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345"); err != nil {
		t.Fatal(err)
	}
	line, took := readAnswer(t, c, 3*time.Second)
	if line != "HTTP/1.1 408 Request Timeout" || took > 2*time.Second {
		t.Fatalf("answer %q after %s, want 408 within the read timeout", line, took)
	}
}

func TestHTTPCutsOffSilentHeaders(t *testing.T) {
	addr := serveHTTP(t, server.HTTPLimits{ReadHeaderTimeout: 200 * time.Millisecond}, http.NotFoundHandler())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, took := readAnswer(t, c, 3*time.Second); took > 2*time.Second {
		t.Fatalf("headers withheld for %s before the server gave up", took)
	}
}

func TestHTTPCapsConnections(t *testing.T) {
	addr := serveHTTP(t, server.HTTPLimits{MaxConns: 2}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	get := func(c net.Conn) {
		t.Helper()
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	// Two keep-alive connections, answered, then idle: the cap is reached.
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		get(c)
		if line, _ := readAnswer(t, c, 2*time.Second); line != "HTTP/1.1 204 No Content" {
			t.Fatalf("held connection got %q", line)
		}
		held = append(held, c)
	}
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	get(extra)
	_ = extra.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	r := bufio.NewReader(extra)
	if line, err := r.ReadString('\n'); err == nil {
		t.Fatalf("a third connection was served beyond the cap of 2: %q", line)
	}
	held[0].Close()
	_ = extra.SetReadDeadline(time.Now().Add(2 * time.Second))
	if line, err := r.ReadString('\n'); err != nil || strings.TrimSpace(line) != "HTTP/1.1 204 No Content" {
		t.Fatalf("after a held connection closed, the waiting one got %q, %v", line, err)
	}
}

func TestNewHTTPRefusesAWriteTimeoutWithinTheReadTimeout(t *testing.T) {
	_, err := server.NewHTTP("http", "127.0.0.1:0", http.NotFoundHandler(),
		server.HTTPLimits{ReadTimeout: time.Minute, WriteTimeout: time.Second})
	if err == nil {
		t.Fatal("NewHTTP took a write timeout shorter than the read timeout")
	}
}
