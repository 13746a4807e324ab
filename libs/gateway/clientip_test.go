package gateway_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/ssokit/platform/libs/gateway"
	"github.com/ssokit/platform/libs/gen/openapi"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/swaggerui"
)

// TestClientIP covers calls that did not come through Mount's connection:
// their metadata is never believed, wherever they come from.
func TestClientIP(t *testing.T) {
	tcp := func(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 50123} }
	tests := []struct {
		name string
		peer net.Addr    // nil: no peer in the context (in process)
		md   metadata.MD // nil: no metadata
		want string
	}{
		{"direct call", tcp("198.51.100.2"), nil, "198.51.100.2"},
		{"direct call with forged x-forwarded-for", tcp("198.51.100.2"), metadata.Pairs("x-forwarded-for", "203.0.113.7"), "198.51.100.2"},
		{"loopback call with x-forwarded-for", tcp("127.0.0.1"), metadata.Pairs("x-forwarded-for", "203.0.113.7"), "127.0.0.1"},
		{"loopback call claiming the gateway's entry", tcp("127.0.0.1"), metadata.Pairs("ssokit-client-addr", "203.0.113.7"), "127.0.0.1"},
		{"loopback call with a made-up proof", tcp("::1"), metadata.Pairs("ssokit-client-addr", "203.0.113.7", "ssokit-gateway-proof", "guess"), "::1"},
		{"unix socket peer", &net.UnixAddr{Name: "/run/sso.sock", Net: "unix"}, metadata.Pairs("ssokit-client-addr", "203.0.113.7"), "/run/sso.sock"},
		{"in process", nil, metadata.Pairs("ssokit-client-addr", "203.0.113.7"), "203.0.113.7"},
		{"in process, IPv4-mapped", nil, metadata.Pairs("ssokit-client-addr", "::ffff:203.0.113.7"), "203.0.113.7"},
		{"in process, two addresses", nil, metadata.Pairs("ssokit-client-addr", "203.0.113.7", "ssokit-client-addr", "6.6.6.6"), ""},
		{"in process, not an address", nil, metadata.Pairs("ssokit-client-addr", "localhost"), ""},
		{"in process, x-forwarded-for only", nil, metadata.Pairs("x-forwarded-for", "203.0.113.7"), ""},
		{"IPv4-mapped peer", tcp("::ffff:198.51.100.2"), nil, "198.51.100.2"},
		{"nothing known", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.peer != nil {
				ctx = peer.NewContext(ctx, &peer.Peer{Addr: tt.peer})
			}
			if tt.md != nil {
				ctx = metadata.NewIncomingContext(ctx, tt.md)
			}
			if got := gateway.ClientIP(ctx); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMountProvesTheGateway runs a gRPC server with ClientIPInterceptor and
// a facade mounted on it, and calls it through the facade and directly:
// only the facade's calls are keyed by the address it forwards, and the
// proof never reaches the handler.
func TestMountProvesTheGateway(t *testing.T) {
	auth := &fakeAuth{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(gateway.ClientIPInterceptor))
	ssov1.RegisterAuthServiceServer(srv, auth)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	spec, err := swaggerui.SpecFromFS(openapi.FS, "sso.swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	conn, err := gateway.Mount(t.Context(), mux, lis.Addr().String(), gateway.Facade{
		Title: "sso API", Spec: spec,
		Handlers:       []gateway.RegisterFunc{ssov1.RegisterAuthServiceHandler},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	post := func(remote string, xff ...string) string {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/v1/auth/register", strings.NewReader(`{"email":"ann@example.com","password":"correct horse"}`))
		req.RemoteAddr = remote
		req.Header.Set("Content-Type", "application/json")
		for _, v := range xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		md, ip := auth.seen()
		for _, k := range []string{"ssokit-gateway-proof", "ssokit-client-addr"} {
			if v := md.Get(k); len(v) != 0 {
				t.Errorf("the handler saw %s = %q", k, v)
			}
		}
		return ip
	}
	if got := post("10.1.2.3:5000", "6.6.6.6, 198.51.100.9", "10.9.9.9"); got != "198.51.100.9" {
		t.Errorf("behind trusted proxies: ClientIP = %q, want 198.51.100.9", got)
	}
	if got := post("198.51.100.20:5000", "6.6.6.6"); got != "198.51.100.20" {
		t.Errorf("from an untrusted peer: ClientIP = %q, want the peer 198.51.100.20", got)
	}

	// A direct call over loopback claiming everything the gateway sends.
	direct, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Close() })
	ctx := metadata.AppendToOutgoingContext(t.Context(),
		"x-forwarded-for", "203.0.113.50", "ssokit-client-addr", "203.0.113.50", "ssokit-gateway-proof", "guess")
	if _, err := ssov1.NewAuthServiceClient(direct).Register(ctx, &ssov1.RegisterRequest{Email: "ann@example.com", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	if _, ip := auth.seen(); ip != "127.0.0.1" {
		t.Errorf("direct loopback call: ClientIP = %q, want its peer 127.0.0.1", ip)
	}
}
