package service_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/testenv"
)

// TestConnectionCap: with NOTIFIER_HTTP_MAX_CONNS=2 and two keep-alive
// connections held open, a third is not served until one of them closes.
func TestConnectionCap(t *testing.T) {
	testenv.Require(t, testenv.KafkaBrokers, testenv.HostPort(testenv.SchemaRegistryURL),
		testenv.SMTPAddr, testenv.HostPort(testenv.PGPrimaryDSN))
	t.Setenv("NOTIFIER_HTTP_MAX_CONNS", "2")
	baseURL, _ := start(t, testConfig(t))
	addr := strings.TrimPrefix(baseURL, "http://")

	open := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: notifier\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		return c, bufio.NewReader(c)
	}
	status := func(c net.Conn, r *bufio.Reader, wait time.Duration) (int, error) {
		_ = c.SetReadDeadline(time.Now().Add(wait))
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	// The readiness polls of start leave idle keep-alive connections,
	// which count against the cap.
	http.DefaultClient.CloseIdleConnections()
	first, r1 := open()
	if code, err := status(first, r1, 10*time.Second); code != http.StatusOK {
		t.Fatalf("first connection: %d %v", code, err)
	}
	second, r2 := open()
	if code, err := status(second, r2, 10*time.Second); code != http.StatusOK {
		t.Fatalf("second connection: %d %v", code, err)
	}
	third, r3 := open()
	if code, err := status(third, r3, time.Second); err == nil {
		t.Fatalf("a third connection was served (%d) beyond the cap of 2", code)
	}
	first.Close()
	if code, err := status(third, r3, 5*time.Second); code != http.StatusOK {
		t.Fatalf("third connection after the first closed: %d %v", code, err)
	}
}
