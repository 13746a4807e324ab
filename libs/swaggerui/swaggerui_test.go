package swaggerui_test

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/ssokit/platform/libs/gen/openapi"
	"github.com/ssokit/platform/libs/swaggerui"
)

func spec(t *testing.T, name string) swaggerui.Spec {
	t.Helper()
	s, err := swaggerui.SpecFromFS(openapi.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mounted is the handler as a service mounts it.
func mounted(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/swagger/", http.StripPrefix("/swagger", h))
	return mux
}

func get(h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var dataSpecs = regexp.MustCompile(`data-specs="([^"]*)"`)

// specsOf returns the document list the page hands to init.js.
func specsOf(t *testing.T, page string) []map[string]string {
	t.Helper()
	m := dataSpecs.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no data-specs in page:\n%s", page)
	}
	var specs []map[string]string
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &specs); err != nil {
		t.Fatalf("data-specs is not JSON: %v", err)
	}
	return specs
}

func TestHandlerServes(t *testing.T) {
	sso := spec(t, "sso.swagger.json")
	h := mounted(swaggerui.Handler("SSO API <docs>", sso))
	tests := []struct {
		path     string
		wantType string
		wantBody []byte // nil: checked below
	}{
		{"/swagger/", "text/html; charset=utf-8", nil},
		{"/swagger/index.html", "text/html; charset=utf-8", nil},
		{"/swagger/sso.swagger.json", "application/json", mustRead(t, "../gen/openapi/sso.swagger.json")},
		{"/swagger/init.js", "text/javascript; charset=utf-8", mustRead(t, "init.js")},
		{"/swagger/swagger-ui-bundle.js", "text/javascript; charset=utf-8", mustRead(t, "dist/swagger-ui-bundle.js")},
		{"/swagger/swagger-ui-standalone-preset.js", "text/javascript; charset=utf-8", mustRead(t, "dist/swagger-ui-standalone-preset.js")},
		{"/swagger/swagger-ui.css", "text/css; charset=utf-8", mustRead(t, "dist/swagger-ui.css")},
		{"/swagger/favicon-32x32.png", "image/png", mustRead(t, "dist/favicon-32x32.png")},
		{"/swagger/LICENSE", "text/plain; charset=utf-8", mustRead(t, "dist/LICENSE")},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := get(h, http.MethodGet, tt.path, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200", rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if tt.wantBody != nil && !bytes.Equal(rec.Body.Bytes(), tt.wantBody) {
				t.Errorf("body differs from the source file (%d bytes, want %d)", rec.Body.Len(), len(tt.wantBody))
			}
		})
	}

	t.Run("page", func(t *testing.T) {
		page := get(h, http.MethodGet, "/swagger/", nil).Body.String()
		for _, want := range []string{
			"<title>SSO API &lt;docs&gt;</title>",
			`<script src="swagger-ui-bundle.js"></script>`,
			`<script src="init.js"></script>`,
			`<link rel="stylesheet" href="swagger-ui.css">`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %s:\n%s", want, page)
			}
		}
		if n, m := strings.Count(page, "<script"), strings.Count(page, `<script src="`); n != m {
			t.Errorf("page has %d inline scripts, want none", n-m)
		}
		want := []map[string]string{{"url": "sso.swagger.json", "name": "SSO API"}}
		if got := specsOf(t, page); !reflect.DeepEqual(got, want) {
			t.Errorf("data-specs = %v, want %v", got, want)
		}
		rec := get(h, http.MethodGet, "/swagger/", nil)
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") {
			t.Errorf("Content-Security-Policy = %q, want script-src 'self'", csp)
		}
	})
}

func TestHandlerSeveralSpecs(t *testing.T) {
	h := mounted(swaggerui.Handler("APIs", spec(t, "sso.swagger.json"), spec(t, "loyalty.swagger.json")))
	want := []map[string]string{
		{"url": "sso.swagger.json", "name": "SSO API"},
		{"url": "loyalty.swagger.json", "name": "Loyalty API"},
	}
	if got := specsOf(t, get(h, http.MethodGet, "/swagger/", nil).Body.String()); !reflect.DeepEqual(got, want) {
		t.Errorf("data-specs = %v, want %v", got, want)
	}
	rec := get(h, http.MethodGet, "/swagger/loyalty.swagger.json", nil)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), mustRead(t, "../gen/openapi/loyalty.swagger.json")) {
		t.Errorf("loyalty document: status %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestHandlerRefuses(t *testing.T) {
	ui := swaggerui.Handler("SSO API", spec(t, "sso.swagger.json"))
	h := mounted(ui)
	tests := []struct {
		name         string
		handler      http.Handler
		method, path string
		wantStatus   int
		wantHeader   map[string]string
	}{
		{"unknown file", h, http.MethodGet, "/swagger/nope.js", http.StatusNotFound, nil},
		{"unlisted package file", h, http.MethodGet, "/swagger/swagger-ui.js", http.StatusNotFound, nil},
		{"vendor directory", h, http.MethodGet, "/swagger/dist/swagger-ui.css", http.StatusNotFound, nil},
		{"version stamp", h, http.MethodGet, "/swagger/VERSION", http.StatusNotFound, nil},
		{"other document", h, http.MethodGet, "/swagger/loyalty.swagger.json", http.StatusNotFound, nil},
		{"write method", h, http.MethodPost, "/swagger/sso.swagger.json", http.StatusMethodNotAllowed,
			map[string]string{"Allow": "GET, HEAD"}},
		{"root without slash, by the mux", h, http.MethodGet, "/swagger", http.StatusTemporaryRedirect,
			map[string]string{"Location": "/swagger/"}},
		{"root without slash, by the handler", http.StripPrefix("/swagger", ui), http.MethodGet, "/swagger?x=1",
			http.StatusTemporaryRedirect, map[string]string{"Location": "swagger/?x=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(tt.handler, tt.method, tt.path, nil)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			for k, v := range tt.wantHeader {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestHandlerCaching(t *testing.T) {
	h := mounted(swaggerui.Handler("SSO API", spec(t, "sso.swagger.json")))
	first := get(h, http.MethodGet, "/swagger/swagger-ui.css", nil)
	etag := first.Header().Get("ETag")
	if etag == "" || first.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag = %q, Cache-Control = %q; want an ETag and no-cache", etag, first.Header().Get("Cache-Control"))
	}
	again := get(h, http.MethodGet, "/swagger/swagger-ui.css", http.Header{"If-None-Match": {etag}})
	if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Errorf("revalidation: status %d with %d bytes, want 304 and no body", again.Code, again.Body.Len())
	}
	head := get(h, http.MethodHead, "/swagger/sso.swagger.json", nil)
	if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Type") != "application/json" {
		t.Errorf("HEAD: status %d, %d bytes, %q", head.Code, head.Body.Len(), head.Header().Get("Content-Type"))
	}
}

func TestHandlerPanicsOnBadWiring(t *testing.T) {
	good := swaggerui.Spec{Name: "a.json", JSON: []byte(`{"info":{"title":"A"}}`)}
	tests := []struct {
		name  string
		specs []swaggerui.Spec
	}{
		{"no documents", nil},
		{"nested name", []swaggerui.Spec{{Name: "v1/a.json", JSON: good.JSON}}},
		{"not .json", []swaggerui.Spec{{Name: "init.js", JSON: good.JSON}}},
		{"empty name", []swaggerui.Spec{{Name: "", JSON: good.JSON}}},
		{"duplicate", []swaggerui.Spec{good, good}},
		{"not JSON", []swaggerui.Spec{{Name: "a.json", JSON: []byte("swagger: '2.0'")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Handler did not panic")
				}
			}()
			swaggerui.Handler("x", tt.specs...)
		})
	}
}

func TestSpecFromFSMissing(t *testing.T) {
	if _, err := swaggerui.SpecFromFS(openapi.FS, "nope.swagger.json"); err == nil {
		t.Error("SpecFromFS of a missing document returned no error")
	}
}
