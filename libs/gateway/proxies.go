package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"
)

// ParseTrustedProxies parses a list of proxy networks, each a CIDR prefix
// ("10.0.0.0/8", "2001:db8::/32") or a single address; blank entries are
// skipped. It is how services read their trusted-proxies setting.
func ParseTrustedProxies(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.Contains(e, "/") {
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", e, err)
			}
			if p.Addr().Is4In6() {
				return nil, fmt.Errorf("trusted proxy %q: write IPv4 networks as IPv4", e)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", e)
		}
		a = a.Unmap().WithZone("")
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ClientAddr returns the address of the client that sent r: the HTTP peer
// (RemoteAddr) unless it is one of the trusted proxies; behind them, the
// right-most X-Forwarded-For hop that is not a trusted proxy. Hops are read
// from the right because each proxy appends the address it saw: everything
// left of the first untrusted hop was written by the client, or by proxies
// it chose, and may be anything. When every hop is trusted the request came
// from a proxy itself, and its left-most hop is the answer; a hop that is
// not an address stops the walk at the trusted hop right of it. ok is false
// when RemoteAddr has no IP address (a unix socket).
func ClientAddr(r *http.Request, trusted []netip.Prefix) (addr netip.Addr, ok bool) {
	addr, ok = parseHop(r.RemoteAddr)
	if !ok || !isTrusted(addr, trusted) {
		return addr, ok
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		entries := strings.Split(hops[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			hop, ok := parseHop(entries[j])
			if !ok {
				return addr, true
			}
			addr = hop
			if !isTrusted(hop, trusted) {
				return addr, true
			}
		}
	}
	return addr, true
}

// parseHop reads one address as proxies write them: bare, or with a port
// ("203.0.113.7:4711", "[2001:db8::7]:4711"), IPv4-mapped IPv6 as IPv4.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

type clientAddrCtxKey struct{}

// forwardClient works out the request's client address (ClientAddr) for
// the annotator below, and removes X-Forwarded-For before grpc-gateway
// copies it into metadata: past this point nothing should read an address
// a client could have written.
func forwardClient(trusted []netip.Prefix) runtime.Middleware {
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			addr, ok := ClientAddr(r, trusted)
			_, hasXFF := r.Header["X-Forwarded-For"]
			if ok || hasXFF {
				ctx := r.Context()
				if ok {
					ctx = context.WithValue(ctx, clientAddrCtxKey{}, addr.String())
				}
				r = r.Clone(ctx)
				r.Header.Del("X-Forwarded-For")
			}
			next(w, r, params)
		}
	}
}

// annotateClient passes the client address forwardClient found to the gRPC
// call; ClientIP believes it only on calls that prove they come from this
// process's gateway.
func annotateClient(_ context.Context, r *http.Request) metadata.MD {
	if addr, ok := r.Context().Value(clientAddrCtxKey{}).(string); ok {
		return metadata.Pairs(clientAddrKey, addr)
	}
	return nil
}
