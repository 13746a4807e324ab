package service_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestSlowAndLargeBodies: loyalty-points' HTTP port gives up on a withheld
// body at its read timeout (10 s by default) with 408, and refuses a body
// over 64 KiB with 413 before it is decoded or authenticated.
func TestSlowAndLargeBodies(t *testing.T) {
	// Both requests carry a bearer header: without one the gateway answers
	// 401 before it reads the body. The token is checked only after the body
	// is read, so its value does not matter here.
	t.Parallel()
	h := loyalty(t)
	path := "/v1/loyalty/accounts/" + uuid.NewString() + ":deposit"

	t.Run("withheld body", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", strings.TrimPrefix(h.baseURL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		if _, err := io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: loyalty\r\nContent-Type: application/json\r\nAuthorization: Bearer not-checked-yet\r\n"+
			"Content-Length: 100\r\n\r\n{\"amount\":"); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(start.Add(20 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		took := time.Since(start)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the server still waits for the body after %s", took.Round(time.Second))
		}
		if took > 12*time.Second || (err == nil && strings.TrimSpace(line) != "HTTP/1.1 408 Request Timeout") {
			t.Fatalf("answer %q (%v) after %s, want 408 within the 10 s read timeout", line, err, took.Round(time.Millisecond))
		}
	})

	t.Run("65 KiB body", func(t *testing.T) {
		t.Parallel()
		body := map[string]string{"amount": "1", "reason": strings.Repeat("r", 65<<10), "idempotency_key": "k"}
		r := h.rest(t, http.MethodPost, path, "not-checked-yet", body)
		if r.Status != http.StatusRequestEntityTooLarge || r.str("message") != "request body is larger than 65536 bytes" {
			t.Fatalf("%d %.300s, want 413", r.Status, r.Raw)
		}
	})
}
