package httpapi_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ssokit/platform/services/sso/internal/httpapi"
	"github.com/ssokit/platform/services/sso/internal/token"
)

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func TestJWKS(t *testing.T) {
	ks := token.NewKeySet(newKey(t))
	srv := httptest.NewServer(httpapi.JWKS(ks))
	t.Cleanup(srv.Close)
	want, err := json.Marshal(ks.JWKS())
	if err != nil {
		t.Fatal(err)
	}

	res := do(t, http.MethodGet, srv.URL, nil)
	etag := res.header.Get("ETag")
	tests := []struct {
		name     string
		method   string
		header   http.Header
		status   int
		body     string
		wantHead map[string]string
	}{
		{
			"get", http.MethodGet, nil, http.StatusOK, string(want),
			map[string]string{"Content-Type": "application/json", "Cache-Control": "public, max-age=300", "ETag": etag},
		},
		{
			"head", http.MethodHead, nil, http.StatusOK, "",
			map[string]string{"Content-Type": "application/json", "Cache-Control": "public, max-age=300"},
		},
		{
			"unchanged", http.MethodGet, http.Header{"If-None-Match": {etag}}, http.StatusNotModified, "",
			map[string]string{"ETag": etag},
		},
		{"post", http.MethodPost, nil, http.StatusMethodNotAllowed, "Method Not Allowed\n", map[string]string{"Allow": "GET, HEAD"}},
	}
	if len(etag) < 3 {
		t.Fatalf("ETag = %q", etag)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, tt.method, srv.URL, tt.header)
			if res.status != tt.status {
				t.Errorf("status = %d, want %d", res.status, tt.status)
			}
			if res.body != tt.body {
				t.Errorf("body = %q, want %q", res.body, tt.body)
			}
			for k, v := range tt.wantHead {
				if got := res.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(body)}
}
