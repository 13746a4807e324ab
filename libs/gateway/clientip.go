package gateway

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// forwardedForKey is the gRPC metadata key grpc-gateway stores the HTTP
// client address under.
const forwardedForKey = "x-forwarded-for"

// ClientIP returns the IP address of the client on whose behalf ctx's gRPC
// call is made, the key for per-client throttling: in canonical form
// (IPv4-mapped IPv6 addresses as IPv4), or "" when ctx carries neither a peer
// nor a forwarded address. gRPC handlers and interceptors call it, whether
// the call arrived directly or through the gateway.
//
// X-Forwarded-For is whatever a client writes, so a throttle that believed it
// could be dodged with a made-up address per request. ClientIP trusts only
//
//   - the peer address of the gRPC connection, which cannot be forged;
//   - the last entry of "x-forwarded-for" metadata, and only on calls from
//     the gateway. The gateway drops any X-Forwarded-For the client sent and
//     grpc-gateway appends the HTTP peer address, so that last entry is the
//     address the gateway itself saw.
//
// A call is taken to come from the gateway when its gRPC peer is local (a
// loopback address or a unix socket, as when the gateway dials the gRPC
// server of its own process) or when there is no peer at all (the in-process
// Register*HandlerServer wiring). The cost: any process on the same host can
// claim an address for its calls. Remote callers (other services, gRPC
// clients) are always keyed by their peer address, whatever metadata they
// send.
func ClientIP(ctx context.Context) string {
	p, hasPeer := peer.FromContext(ctx)
	if !hasPeer || local(p.Addr) {
		if ip, ok := lastForwarded(ctx); ok {
			return ip
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

// local reports whether a peer is on this host: the gateway's own connection.
func local(addr net.Addr) bool {
	if addr == nil {
		return false
	}
	if _, ok := addr.(*net.UnixAddr); ok {
		return true
	}
	ip, ok := addrIP(addr)
	return ok && ip.IsLoopback()
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

// lastForwarded returns the last entry of the incoming x-forwarded-for
// metadata, the one grpc-gateway appended, if it is an IP address.
func lastForwarded(ctx context.Context) (string, bool) {
	vals := metadata.ValueFromIncomingContext(ctx, forwardedForKey)
	if len(vals) == 0 {
		return "", false
	}
	last := vals[len(vals)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(last))
	if err != nil {
		return "", false
	}
	return ip.Unmap().String(), true
}
