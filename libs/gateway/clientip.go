package gateway

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/netip"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// The gateway tells the gRPC side whose request it forwards with two
// metadata entries: the client's address, as the gateway worked it out
// (see ClientAddr), and a proof that the call comes from this process's own
// gateway.
const (
	clientAddrKey = "ssokit-client-addr"
	proofKey      = "ssokit-gateway-proof"
)

// proof is a secret of this process: 256 random bits drawn at start, never
// configured, logged or written anywhere. Only the connection Mount opens to
// this process's own gRPC server sends it (see proveGateway), and only
// ClientIP, in the same process, checks it.
//
// Why a secret rather than the peer address: the gateway reaches the gRPC
// server over a loopback TCP connection (so that REST calls pass the same
// interceptors as gRPC ones), and any process on the host can open one of
// those too, so "the peer is local" proves nothing; trusting it let any
// local process claim any client address and dodge per-address throttling.
// A process cannot read another's memory or its loopback traffic without
// the privileges that would let it do anything anyway, so a call carrying
// the proof can only have come from this process. The alternatives were
// worse fits: an in-process (Register*HandlerServer) gateway skips the gRPC
// interceptors, and a dedicated in-memory listener would need changes to
// the shared server plumbing for the same guarantee.
var proof = newProof()

func newProof() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("gateway: no randomness for the gateway proof: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// proveGateway adds the proof to every call on the gateway's connection.
func proveGateway() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(metadata.AppendToOutgoingContext(ctx, proofKey, proof), method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(metadata.AppendToOutgoingContext(ctx, proofKey, proof), desc, cc, method, opts...)
		}),
	}
}

// ClientIP returns the IP address of the client on whose behalf ctx's gRPC
// call is made, the key for per-client throttling: in canonical form
// (IPv4-mapped IPv6 addresses as IPv4), or "" when nothing is known. gRPC
// handlers and interceptors call it, whether the call arrived directly or
// through the gateway.
//
// It is the address the gateway worked out from the HTTP request (the
// peer, or behind trusted proxies the right-most X-Forwarded-For hop that
// is not one; see ClientAddr), when the call comes from this process's
// gateway: over the gateway's connection, which carries a per-process
// secret, or in process (Register*HandlerServer), where there is no network
// peer. Every other call is keyed by its peer address, whatever metadata
// it sends: a gRPC client, local or not, cannot claim another address.
func ClientIP(ctx context.Context) string {
	if ip, ok := ctx.Value(clientIPKey{}).(string); ok {
		return ip
	}
	return resolveClientIP(ctx)
}

type clientIPKey struct{}

func resolveClientIP(ctx context.Context) string {
	p, hasPeer := peer.FromContext(ctx)
	md, _ := metadata.FromIncomingContext(ctx)
	if !hasPeer || proven(md) {
		if ip, ok := one(md, clientAddrKey); ok {
			if addr, err := netip.ParseAddr(ip); err == nil {
				return addr.Unmap().String()
			}
		}
	}
	if !hasPeer || p.Addr == nil {
		return ""
	}
	if ip, ok := addrIP(p.Addr); ok {
		return ip.String()
	}
	return p.Addr.String()
}

// proven reports whether md carries this process's gateway proof, once.
func proven(md metadata.MD) bool {
	v, ok := one(md, proofKey)
	return ok && subtle.ConstantTimeCompare([]byte(v), []byte(proof)) == 1
}

// one returns the value of key in md when there is exactly one: a second
// value means something other than the gateway wrote it.
func one(md metadata.MD, key string) (string, bool) {
	vs := md.Get(key)
	if len(vs) != 1 {
		return "", false
	}
	return vs[0], true
}

// ClientIPInterceptor works out ClientIP once per call, for the handler
// and the interceptors after it, and removes the gateway's entries from the
// incoming metadata, so the proof reaches no handler, log or outgoing call.
// ServeAPI installs it.
func ClientIPInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	ip := resolveClientIP(ctx)
	if md, ok := metadata.FromIncomingContext(ctx); ok && (len(md[proofKey]) > 0 || len(md[clientAddrKey]) > 0) {
		md = md.Copy()
		delete(md, proofKey)
		delete(md, clientAddrKey)
		ctx = metadata.NewIncomingContext(ctx, md)
	}
	return next(context.WithValue(ctx, clientIPKey{}, ip), req)
}

func addrIP(addr net.Addr) (netip.Addr, bool) {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		ip, ok := netip.AddrFromSlice(tcp.IP)
		return ip.Unmap(), ok
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}
