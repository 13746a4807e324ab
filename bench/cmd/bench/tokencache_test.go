package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func metricsServer(t *testing.T, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func TestReadTokenCache(t *testing.T) {
	url := metricsServer(t, `# HELP sso_token_verified_cache_lookups_total Access-token verifications...
# TYPE sso_token_verified_cache_lookups_total counter
sso_token_verified_cache_lookups_total{result="hit"} 207837
sso_token_verified_cache_lookups_total{result="miss"} 1377
sso_token_verified_cache_entries 1377
sso_auth_requests_total{op="validate",result="hit"} 5
`)
	l, ok, err := readTokenCache(http.DefaultClient, url)
	if err != nil || !ok {
		t.Fatalf("readTokenCache = %+v, %t, %v", l, ok, err)
	}
	if l != (tokenCacheLookups{hits: 207837, misses: 1377}) {
		t.Errorf("lookups = %+v, want 207837 hits and 1377 misses", l)
	}
}

func TestReadTokenCacheAbsent(t *testing.T) {
	url := metricsServer(t, "sso_token_verified_cache_entries 0\ngo_goroutines 12\n")
	if l, ok, err := readTokenCache(http.DefaultClient, url); ok || err != nil {
		t.Errorf("readTokenCache = %+v, %t, %v; want no counters and no error", l, ok, err)
	}
	if _, _, err := readTokenCache(http.DefaultClient, url+"nowhere/"); err == nil {
		t.Error("readTokenCache of a 404 gave no error")
	}
}

func TestHitRatio(t *testing.T) {
	before := tokenCacheLookups{hits: 100, misses: 10}
	if r, ok := hitRatio(before, tokenCacheLookups{hits: 190, misses: 20}); !ok || r != 0.9 {
		t.Errorf("hitRatio = %v, %t; want 0.9", r, ok)
	}
	if _, ok := hitRatio(before, before); ok {
		t.Error("hitRatio of a window without lookups reported one")
	}
}
