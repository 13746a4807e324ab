package gateway

import (
	"mime"
	"net/http"
	"net/netip"
	"net/textproto"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ssokit/platform/libs/server"
)

// DefaultMaxBodyBytes is the request body limit New applies unless
// WithMaxBodyBytes says otherwise: 64 KiB, a hundred times the largest
// legitimate request (a password, a name and an e-mail address), and little
// memory for a client that sends that much or withholds the rest.
const DefaultMaxBodyBytes int64 = 64 << 10

// Option configures New.
type Option func(*options)

type options struct {
	maxBody        int64
	trusted        []netip.Prefix
	bearerRequired bool
	muxOpts        []runtime.ServeMuxOption
}

// WithMaxBodyBytes sets the largest request body accepted; larger bodies get
// 413. n must be positive.
func WithMaxBodyBytes(n int64) Option {
	return func(o *options) { o.maxBody = n }
}

// WithTrustedProxies names the proxies (load balancers, TLS terminators)
// whose X-Forwarded-For entries the gateway believes when it works out a
// request's client address (see ClientAddr). Without it no X-Forwarded-For
// is believed: the client is the HTTP peer.
func WithTrustedProxies(networks ...netip.Prefix) Option {
	return func(o *options) { o.trusted = append(o.trusted, networks...) }
}

// WithBearerRequired makes every route of the mux refuse a request without
// an "Authorization: Bearer ..." header with 401 UNAUTHENTICATED before its
// body or parameters are looked at, for APIs whose every call needs an
// access token: a caller without one learns nothing about what the API
// would accept, and gets the status its document promises. Whether the
// token is valid stays the service's question.
func WithBearerRequired() Option {
	return func(o *options) { o.bearerRequired = true }
}

// WithServeMuxOptions adds grpc-gateway options, applied after the gateway's
// own so they win where both set the same thing. It exists for additions
// (runtime.WithMetadata, runtime.WithForwardResponseOption); replacing the
// marshaler, the error handlers or the header matchers breaks the contract
// described in the package documentation.
func WithServeMuxOptions(opts ...runtime.ServeMuxOption) Option {
	return func(o *options) { o.muxOpts = append(o.muxOpts, opts...) }
}

// New returns an empty grpc-gateway mux speaking the REST contract in the
// package documentation; the generated Register*Handler functions add the
// routes. Each call's route is named after the path template it matched,
// for the HTTP metrics of server.InstrumentHTTP.
func New(opts ...Option) *runtime.ServeMux {
	o := options{maxBody: DefaultMaxBodyBytes}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxBody <= 0 {
		panic("gateway: body limit must be positive")
	}
	// EmitDefaultValues, unlike EmitUnpopulated, leaves an unset message
	// field (a Timestamp the response has no value for) out instead of
	// writing null, which no schema of the OpenAPI documents allows.
	marshaler := &strictJSON{JSONPb: &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}
	// routeGuard runs first so that a probe (see allowedMethods) stops
	// before any other middleware looks at the request.
	var mux *runtime.ServeMux
	middlewares := []runtime.Middleware{routeGuard(&mux)}
	if o.bearerRequired {
		middlewares = append(middlewares, requireBearer)
	}
	middlewares = append(middlewares, limitBody(o.maxBody), requireJSON, refusePathFieldsInBody, forwardClient(o.trusted), nameRoute)
	muxOpts := []runtime.ServeMuxOption{
		runtime.WithMarshalerOption(runtime.MIMEWildcard, marshaler),
		runtime.WithErrorHandler(handleError),
		runtime.WithRoutingErrorHandler(handleRoutingError),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(dropHeader),
		runtime.WithOutgoingTrailerMatcher(dropHeader),
		runtime.WithMiddlewares(middlewares...),
		runtime.WithMetadata(annotateClient),
		// The API is JSON only: no form posts turned into GETs, no
		// X-HTTP-Method-Override.
		runtime.WithDisablePathLengthFallback(),
		runtime.WithDisableHTTPMethodOverride(),
		runtime.WithWriteContentLength(),
	}
	mux = runtime.NewServeMux(append(muxOpts, o.muxOpts...)...)
	return mux
}

// incomingHeader picks the request headers that become gRPC metadata.
// Authorization is missing on purpose: grpc-gateway always forwards it as
// "authorization", and matching it here would add a second copy.
func incomingHeader(key string) (string, bool) {
	switch textproto.CanonicalMIMEHeaderKey(key) {
	case "X-Request-Id":
		return "x-request-id", true
	case "User-Agent":
		return runtime.MetadataPrefix + "user-agent", true
	}
	return "", false
}

// dropHeader keeps gRPC response metadata (content-type, anything an
// interceptor sets) out of HTTP responses.
func dropHeader(string) (string, bool) { return "", false }

func limitBody(max int64) runtime.Middleware {
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			LimitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next(w, r, params)
			}), max).ServeHTTP(w, r)
		}
	}
}

// requireJSON refuses a request body that is not declared as JSON with 415
// Unsupported Media Type. A browser sends a cross-site form or text/plain
// POST without asking the server first (no CORS preflight); only JSON
// needs the preflight a server can refuse, so accepting any content type
// would let another site register or log in a visitor. A request without
// a body (GET, DELETE, an empty POST) passes whatever it declares. It runs
// after limitBody, which has read the body and set its length.
func requireJSON(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if r.ContentLength != 0 && !isJSON(r.Header.Get("Content-Type")) {
			writeStatus(w, http.StatusUnsupportedMediaType,
				status.New(codes.InvalidArgument, "Content-Type must be application/json"))
			return
		}
		next(w, r, params)
	}
}

// isJSON reports whether a Content-Type header names application/json,
// with or without parameters (charset=utf-8).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// nameRoute names the route of the request for the HTTP metrics (see
// server.InstrumentHTTP) after the path template it matched, as the API's
// http rules write it: {user_id}, not the pattern's {user_id=*}. The raw
// path would make a series per user.
func nameRoute(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			server.SetRoute(r.Context(), strings.ReplaceAll(p.String(), "=*}", "}"))
		}
		next(w, r, params)
	}
}
