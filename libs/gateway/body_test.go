package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/ssokit/platform/libs/gateway"
)

func TestLimitBody(t *testing.T) {
	const max = 16
	tests := []struct {
		name       string
		body       io.Reader // nil: no body
		wantStatus int
		wantSeen   string // the body the wrapped handler read
	}{
		{"no body", nil, http.StatusNoContent, ""},
		{"under the limit", strings.NewReader("0123456789"), http.StatusNoContent, "0123456789"},
		{"at the limit", strings.NewReader("0123456789abcdef"), http.StatusNoContent, "0123456789abcdef"},
		{"declared over the limit", strings.NewReader("0123456789abcdefg"), http.StatusRequestEntityTooLarge, ""},
		{"chunked at the limit", io.MultiReader(strings.NewReader("0123456789abcdef")), http.StatusNoContent, "0123456789abcdef"},
		{"chunked over the limit", io.MultiReader(strings.NewReader("0123456789abcdefg")), http.StatusRequestEntityTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen string
			var seenLen int64
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, err := io.ReadAll(r.Body)
				if err != nil {
					t.Errorf("wrapped handler read: %v", err)
				}
				seen, seenLen = string(b), r.ContentLength
				w.WriteHeader(http.StatusNoContent)
			})
			req := httptest.NewRequest(http.MethodPost, "/v1/auth/register", tt.body)
			rec := httptest.NewRecorder()
			gateway.LimitBody(next, max).ServeHTTP(rec, req)

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if seen != tt.wantSeen || seenLen != int64(len(tt.wantSeen)) {
				t.Errorf("handler saw %q (Content-Length %d), want %q", seen, seenLen, tt.wantSeen)
			}
			if tt.wantStatus == http.StatusRequestEntityTooLarge {
				assertJSON(t, rec.Body.Bytes(),
					errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", "request body is larger than 16 bytes"), "")
			}
		})
	}
}

// deadlineReader fails as a connection whose read deadline has passed.
type deadlineReader struct{}

func (deadlineReader) Read([]byte) (int, error) { return 0, os.ErrDeadlineExceeded }

func TestLimitBodyAnswers408WhenTheBodyIsLate(t *testing.T) {
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("handler ran without a body") })
	req := httptest.NewRequest(http.MethodPost, "/v1/auth/login", deadlineReader{})
	rec := httptest.NewRecorder()
	gateway.LimitBody(next, 1024).ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestTimeout {
		t.Fatalf("status = %d, want 408", rec.Code)
	}
	assertJSON(t, rec.Body.Bytes(),
		errJSON(codes.DeadlineExceeded, "DEADLINE_EXCEEDED", "the request body did not arrive in time"), "")
}
