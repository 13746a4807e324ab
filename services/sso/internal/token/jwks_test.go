package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestKeyIDThumbprint checks KeyID against the JWK thumbprint example of
// RFC 8037 Appendix A.3.
func TestKeyIDThumbprint(t *testing.T) {
	x, err := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if err != nil {
		t.Fatal(err)
	}
	const want = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	if got := KeyID(ed25519.PublicKey(x)); got != want {
		t.Errorf("KeyID = %q, want %q", got, want)
	}
}

func TestJWKS(t *testing.T) {
	active, older := newKey(t), newKey(t)
	ks := NewKeySet(active, public(older))

	want := `{"keys":[` +
		`{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(public(active)) +
		`","kid":"` + KeyID(public(active)) + `","use":"sig","alg":"EdDSA"},` +
		`{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(public(older)) +
		`","kid":"` + KeyID(public(older)) + `","use":"sig","alg":"EdDSA"}]}`
	got, err := json.Marshal(ks.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("JWKS =\n%s\nwant\n%s", got, want)
	}
}

func TestJWKSHandler(t *testing.T) {
	ks := NewKeySet(newKey(t))
	srv := httptest.NewServer(JWKSHandler(ks))
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
