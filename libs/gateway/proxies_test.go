package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"testing"

	"github.com/ssokit/platform/libs/gateway"
)

func TestParseTrustedProxies(t *testing.T) {
	got, err := gateway.ParseTrustedProxies([]string{" 10.0.0.0/8", "192.168.1.77/24", "", "203.0.113.5", "2001:db8::/32", "::ffff:198.51.100.1", "fd00::1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.0/24"),
		netip.MustParsePrefix("203.0.113.5/32"), netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("198.51.100.1/32"), netip.MustParsePrefix("fd00::1/128"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseTrustedProxies = %v, want %v", got, want)
	}
	if got, err := gateway.ParseTrustedProxies(nil); err != nil || len(got) != 0 {
		t.Errorf("ParseTrustedProxies(nil) = %v, %v; want none", got, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0", "::ffff:10.0.0.0/104"} {
		if _, err := gateway.ParseTrustedProxies([]string{bad}); err == nil {
			t.Errorf("ParseTrustedProxies(%q) succeeded", bad)
		}
	}
}

func TestClientAddr(t *testing.T) {
	trusted, err := gateway.ParseTrustedProxies([]string{"10.0.0.0/8", "2001:db8:1::/48"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		remote  string
		xff     []string // header lines
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies trusted: the peer, whatever the header", "10.1.1.1:4000", []string{"198.51.100.7"}, nil, "10.1.1.1"},
		{"untrusted peer: its header is ignored", "198.51.100.20:4000", []string{"6.6.6.6"}, trusted, "198.51.100.20"},
		{"behind one proxy", "10.1.1.1:4000", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
		{"behind two proxies", "10.1.1.1:4000", []string{"198.51.100.7, 10.2.2.2"}, trusted, "198.51.100.7"},
		{"client-written hops on the left are ignored", "10.1.1.1:4000", []string{"6.6.6.6, 7.7.7.7, 198.51.100.7, 10.2.2.2"}, trusted, "198.51.100.7"},
		{"several header lines read as one list", "10.1.1.1:4000", []string{"6.6.6.6, 198.51.100.7", "10.2.2.2"}, trusted, "198.51.100.7"},
		{"no header: the proxy itself", "10.1.1.1:4000", nil, trusted, "10.1.1.1"},
		{"every hop trusted: the left-most", "10.1.1.1:4000", []string{"10.3.3.3, 10.2.2.2"}, trusted, "10.3.3.3"},
		{"garbage stops at the trusted hop right of it", "10.1.1.1:4000", []string{"198.51.100.7, unknown, 10.2.2.2"}, trusted, "10.2.2.2"},
		{"hops with ports", "10.1.1.1:4000", []string{"198.51.100.7:5555, [2001:db8:1::9]:443"}, trusted, "198.51.100.7"},
		{"IPv6 client", "[2001:db8:1::1]:4000", []string{"2001:db8:ffff::7"}, trusted, "2001:db8:ffff::7"},
		{"IPv4-mapped hop", "10.1.1.1:4000", []string{"::ffff:198.51.100.7"}, trusted, "198.51.100.7"},
		{"IPv4-mapped peer", "[::ffff:10.1.1.1]:4000", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got, ok := gateway.ClientAddr(r, tt.trusted)
			if !ok || got.String() != tt.want {
				t.Errorf("ClientAddr = %v, %v; want %s", got, ok, tt.want)
			}
		})
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "@"
	if got, ok := gateway.ClientAddr(r, trusted); ok {
		t.Errorf("ClientAddr of a unix socket peer = %v, want none", got)
	}
}
