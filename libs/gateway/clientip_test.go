package gateway_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/ssokit/platform/libs/gateway"
)

func TestClientIP(t *testing.T) {
	tcp := func(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 50123} }
	tests := []struct {
		name string
		peer net.Addr // nil: no peer in the context
		xff  []string // nil: no x-forwarded-for metadata
		want string
	}{
		{"direct call", tcp("198.51.100.2"), nil, "198.51.100.2"},
		{"direct call with forged metadata", tcp("198.51.100.2"), []string{"203.0.113.7"}, "198.51.100.2"},
		{"through the gateway", tcp("127.0.0.1"), []string{"203.0.113.7"}, "203.0.113.7"},
		{"gateway over IPv6 loopback", tcp("::1"), []string{"2001:db8::7"}, "2001:db8::7"},
		{"gateway over a unix socket", &net.UnixAddr{Name: "/run/sso.sock", Net: "unix"}, []string{"203.0.113.7"}, "203.0.113.7"},
		{"in-process gateway, no peer", nil, []string{"203.0.113.7"}, "203.0.113.7"},
		{"only the last entry counts", tcp("127.0.0.1"), []string{"6.6.6.6, 203.0.113.7"}, "203.0.113.7"},
		{"last of several values", tcp("127.0.0.1"), []string{"6.6.6.6", "7.7.7.7 ,203.0.113.7"}, "203.0.113.7"},
		{"IPv4-mapped entry", nil, []string{"::ffff:203.0.113.7"}, "203.0.113.7"},
		{"IPv6 entry canonical", nil, []string{"2001:DB8:0:0::7"}, "2001:db8::7"},
		{"garbage entry falls back to peer", tcp("127.0.0.1"), []string{"203.0.113.7, not-an-ip"}, "127.0.0.1"},
		{"local call without metadata", tcp("127.0.0.1"), nil, "127.0.0.1"},
		{"IPv4-mapped peer", tcp("::ffff:198.51.100.2"), nil, "198.51.100.2"},
		{"nothing known", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.peer != nil {
				ctx = peer.NewContext(ctx, &peer.Peer{Addr: tt.peer})
			}
			if tt.xff != nil {
				md := metadata.MD{}
				md.Append("x-forwarded-for", tt.xff...)
				ctx = metadata.NewIncomingContext(ctx, md)
			}
			if got := gateway.ClientIP(ctx); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}
