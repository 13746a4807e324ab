package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ssokit/platform/libs/gateway"
	loyaltyv1 "github.com/ssokit/platform/libs/gen/loyalty/v1"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
)

// clientAddr is the RemoteAddr of every test request: the address the
// gateway must report to the gRPC side.
const clientAddr = "203.0.113.7:41000"

// fakeAuth answers Register by e-mail address with each kind of outcome a
// real service maps its errors to, and records what reached it.
type fakeAuth struct {
	ssov1.UnimplementedAuthServiceServer

	mu sync.Mutex
	md metadata.MD
	ip string
}

func (f *fakeAuth) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.md, f.ip = md.Copy(), gateway.ClientIP(ctx)
}

func (f *fakeAuth) seen() (metadata.MD, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.md, f.ip
}

func (f *fakeAuth) Register(ctx context.Context, req *ssov1.RegisterRequest) (*ssov1.RegisterResponse, error) {
	f.record(ctx)
	switch email := req.GetEmail(); {
	case email == "":
		return nil, status.Error(codes.InvalidArgument, "email is required")
	case len(req.GetPassword()) > 1024:
		return nil, status.Error(codes.InvalidArgument, "password must be at most 1024 bytes")
	case email == "taken@example.com":
		return nil, status.Error(codes.AlreadyExists, "email is already registered")
	case email == "throttled@example.com":
		st, err := status.New(codes.ResourceExhausted, "too many attempts").
			WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(1200 * time.Millisecond)})
		if err != nil {
			return nil, err
		}
		return nil, st.Err()
	case email == "down@example.com":
		return nil, status.Error(codes.Unavailable, "service unavailable")
	case email == "boom@example.com":
		return nil, status.Error(codes.Internal, "internal error")
	case !strings.Contains(email, "@"):
		return nil, status.Error(codes.InvalidArgument, "email is malformed")
	}
	return &ssov1.RegisterResponse{
		UserId: "u-1", AccessToken: "at", RefreshToken: "rt", ExpiresIn: 900, TokenType: "Bearer",
	}, nil
}

func (f *fakeAuth) Logout(ctx context.Context, _ *ssov1.LogoutRequest) (*ssov1.LogoutResponse, error) {
	f.record(ctx)
	if len(metadata.ValueFromIncomingContext(ctx, "authorization")) == 0 {
		return nil, status.Error(codes.Unauthenticated, "missing bearer token")
	}
	return &ssov1.LogoutResponse{}, nil
}

func (f *fakeAuth) Validate(ctx context.Context, _ *ssov1.ValidateRequest) (*ssov1.ValidateResponse, error) {
	f.record(ctx)
	return &ssov1.ValidateResponse{Valid: false}, nil
}

// wirings are the two ways a service can connect the gateway to its
// handlers; the gateway must behave the same through both.
var wirings = map[string]func(t *testing.T, gw *runtime.ServeMux, auth *fakeAuth){
	"from endpoint": func(t *testing.T, gw *runtime.ServeMux, auth *fakeAuth) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		ssov1.RegisterAuthServiceServer(srv, auth)
		go func() { _ = srv.Serve(lis) }()
		t.Cleanup(srv.Stop)
		err = ssov1.RegisterAuthServiceHandlerFromEndpoint(t.Context(), gw, lis.Addr().String(),
			[]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())})
		if err != nil {
			t.Fatal(err)
		}
	},
	"in process": func(t *testing.T, gw *runtime.ServeMux, auth *fakeAuth) {
		if err := ssov1.RegisterAuthServiceHandlerServer(t.Context(), gw, auth); err != nil {
			t.Fatal(err)
		}
	},
}

func newGateway(t *testing.T, wiring string, opts ...gateway.Option) (http.Handler, *fakeAuth) {
	t.Helper()
	gw, auth := gateway.New(opts...), &fakeAuth{}
	wirings[wiring](t, gw, auth)
	return gw, auth
}

func serve(gw http.Handler, method, path string, body io.Reader, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, body)
	req.RemoteAddr = clientAddr
	req.Header.Set("Content-Type", "application/json") // what an API client sends; header may replace it
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, req)
	return rec
}

// errJSON is the error body the gateway writes for a status without details.
func errJSON(code codes.Code, name, message string) string {
	b, _ := json.Marshal(map[string]any{"code": code, "status": name, "message": message, "details": []any{}})
	return string(b)
}

func TestGateway(t *testing.T) {
	bigPassword := strings.Repeat("p", 32<<10) // under the body limit
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		// chunked sends the body without a Content-Length.
		chunked    bool
		wantStatus int
		// wantBody is compared as JSON; with wantPrefix set, the message is
		// compared by that prefix and the rest of the body exactly.
		wantBody       string
		wantPrefix     string
		wantRetryAfter string
		wantAllow      string
	}{
		{
			name: "success in snake_case", method: "POST", path: "/v1/auth/register",
			body:       `{"email":"ann@example.com","password":"correct horse","full_name":"Ann"}`,
			wantStatus: http.StatusOK,
			wantBody:   `{"user_id":"u-1","access_token":"at","refresh_token":"rt","expires_in":900,"token_type":"Bearer"}`,
		},
		{
			// An unset message (expires_at) is left out, never null: the
			// API document has no nullable fields.
			name: "zero values are emitted, unset messages left out", method: "POST", path: "/v1/auth/validate",
			body:       `{"token":"expired"}`,
			wantStatus: http.StatusOK,
			wantBody:   `{"valid":false,"user_id":"","is_admin":false}`,
		},
		{
			name: "invalid argument", method: "POST", path: "/v1/auth/register",
			body:       `{"email":"nobody","password":"x"}`,
			wantStatus: http.StatusBadRequest,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", "email is malformed"),
		},
		{
			name: "already exists", method: "POST", path: "/v1/auth/register",
			body:       `{"email":"taken@example.com","password":"x"}`,
			wantStatus: http.StatusConflict,
			wantBody:   errJSON(codes.AlreadyExists, "ALREADY_EXISTS", "email is already registered"),
		},
		{
			name: "throttled with retry info", method: "POST", path: "/v1/auth/register",
			body:       `{"email":"throttled@example.com","password":"x"}`,
			wantStatus: http.StatusTooManyRequests,
			wantBody: `{"code":8,"status":"RESOURCE_EXHAUSTED","message":"too many attempts","details":[` +
				`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retry_delay":"1.200s"}]}`,
			wantRetryAfter: "2",
		},
		{
			name: "unavailable", method: "POST", path: "/v1/auth/register",
			body:       `{"email":"down@example.com","password":"x"}`,
			wantStatus: http.StatusServiceUnavailable,
			wantBody:   errJSON(codes.Unavailable, "UNAVAILABLE", "service unavailable"),
		},
		{
			name: "internal passes the service's message through", method: "POST", path: "/v1/auth/register",
			body:       `{"email":"boom@example.com","password":"x"}`,
			wantStatus: http.StatusInternalServerError,
			wantBody:   errJSON(codes.Internal, "INTERNAL", "internal error"),
		},
		{
			name: "unauthenticated", method: "POST", path: "/v1/auth/logout",
			body:       `{"refresh_token":"rt"}`,
			wantStatus: http.StatusUnauthorized,
			wantBody:   errJSON(codes.Unauthenticated, "UNAUTHENTICATED", "missing bearer token"),
		},
		{
			name: "empty body reaches the service as an empty message", method: "POST", path: "/v1/auth/register",
			body:       "",
			wantStatus: http.StatusBadRequest,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", "email is required"),
		},
		{
			name: "whitespace body is empty", method: "POST", path: "/v1/auth/register",
			body:       " \n",
			wantStatus: http.StatusBadRequest,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", "email is required"),
		},
		{
			name: "malformed JSON", method: "POST", path: "/v1/auth/register",
			body:       `{"email":`,
			wantStatus: http.StatusBadRequest,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", ""),
			wantPrefix: "invalid JSON body: unexpected EOF",
		},
		{
			name: "wrong type", method: "POST", path: "/v1/auth/register",
			body:       `{"email":5,"password":"x"}`,
			wantStatus: http.StatusBadRequest,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", ""),
			wantPrefix: "invalid JSON body: (line 1:10): invalid value for string field email: 5",
		},
		{
			name: "unknown field", method: "POST", path: "/v1/auth/register",
			body:       `{"email":"ann@example.com","pasword":"x"}`,
			wantStatus: http.StatusBadRequest,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", ""),
			wantPrefix: `invalid JSON body: (line 1:28): unknown field "pasword"`,
		},
		{
			name: "wrong type named by the proto name", method: "POST", path: "/v1/auth/register",
			body:       `{"email":"ann@example.com","password":"x","full_name":5}`,
			wantStatus: http.StatusBadRequest,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", ""),
			wantPrefix: "invalid JSON body: (line 1:55): invalid value for string field full_name: 5",
		},
		{
			name: "null is not a value", method: "POST", path: "/v1/auth/register",
			body:       `{"email":"ann@example.com","password":"x","full_name":null}`,
			wantStatus: http.StatusBadRequest,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", "invalid JSON body: invalid value for field full_name: null (leave the field out instead)"),
		},
		{
			// protojson would take the JSON name too; the API declares
			// only the proto name.
			name: "JSON name is an unknown field", method: "POST", path: "/v1/auth/register",
			body:       `{"email":"ann@example.com","password":"x","fullName":"Ann"}`,
			wantStatus: http.StatusBadRequest,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", `invalid JSON body: unknown field "fullName"`),
		},
		{
			name: "not an object", method: "POST", path: "/v1/auth/register",
			body:       `["ann@example.com"]`,
			wantStatus: http.StatusBadRequest,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", ""),
			wantPrefix: "invalid JSON body: syntax error (line 1:1): unexpected token [",
		},
		{
			name: "null body", method: "POST", path: "/v1/auth/register",
			body:       `null`,
			wantStatus: http.StatusBadRequest,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", ""),
			wantPrefix: "invalid JSON body: syntax error (line 1:1): unexpected token null",
		},
		{
			name: "trailing data", method: "POST", path: "/v1/auth/register",
			body:       `{"email":"ann@example.com"} {"is_admin":true}`,
			wantStatus: http.StatusBadRequest,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", ""),
			wantPrefix: "invalid JSON body: syntax error (line 1:29): unexpected token {",
		},
		{
			name: "32 KiB password reaches the password policy", method: "POST", path: "/v1/auth/register",
			body:       `{"email":"ann@example.com","password":"` + bigPassword + `"}`,
			wantStatus: http.StatusBadRequest,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", "password must be at most 1024 bytes"),
		},
		{
			name: "body over the limit", method: "POST", path: "/v1/auth/register",
			body:       `{"email":"ann@example.com","password":"` + strings.Repeat("p", 64<<10) + `"}`,
			wantStatus: http.StatusRequestEntityTooLarge,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", "request body is larger than 65536 bytes"),
		},
		{
			name: "chunked body over the limit", method: "POST", path: "/v1/auth/register",
			body:       `{"email":"ann@example.com","password":"` + strings.Repeat("p", 64<<10) + `"}`,
			chunked:    true,
			wantStatus: http.StatusRequestEntityTooLarge,
			wantBody:   errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", "request body is larger than 65536 bytes"),
		},
		{
			name: "unknown path", method: "GET", path: "/v1/nope",
			wantStatus: http.StatusNotFound,
			wantBody:   errJSON(codes.NotFound, "NOT_FOUND", "no route for GET /v1/nope"),
		},
		{
			name: "wrong method", method: "GET", path: "/v1/auth/register",
			wantStatus: http.StatusMethodNotAllowed,
			wantBody:   errJSON(codes.Unimplemented, "UNIMPLEMENTED", "method GET is not allowed for /v1/auth/register (allowed: POST)"),
			wantAllow:  "POST",
		},
		{
			name: "method no rule binds", method: "TRACE", path: "/v1/auth/validate",
			wantStatus: http.StatusMethodNotAllowed,
			wantBody:   errJSON(codes.Unimplemented, "UNIMPLEMENTED", "method TRACE is not allowed for /v1/auth/validate (allowed: POST)"),
			wantAllow:  "POST",
		},
	}
	for wiring := range wirings {
		t.Run(wiring, func(t *testing.T) {
			gw, _ := newGateway(t, wiring)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var body io.Reader = strings.NewReader(tt.body)
					if tt.chunked {
						body = io.MultiReader(body) // hides the length from httptest
					}
					rec := serve(gw, tt.method, tt.path, body, nil)

					if rec.Code != tt.wantStatus {
						t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
					}
					if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
						t.Errorf("Content-Type = %q, want application/json", ct)
					}
					if ra := rec.Header().Get("Retry-After"); ra != tt.wantRetryAfter {
						t.Errorf("Retry-After = %q, want %q", ra, tt.wantRetryAfter)
					}
					if allow := rec.Header().Get("Allow"); allow != tt.wantAllow {
						t.Errorf("Allow = %q, want %q", allow, tt.wantAllow)
					}
					for k := range rec.Header() {
						if strings.HasPrefix(k, "Grpc-") {
							t.Errorf("gRPC metadata leaked into header %s", k)
						}
					}
					assertJSON(t, rec.Body.Bytes(), tt.wantBody, tt.wantPrefix)
				})
			}
		})
	}
}

// assertJSON compares got and want as JSON values. With prefix set, got's
// "message" must start with it and is then compared as "".
func assertJSON(t *testing.T, got []byte, want, prefix string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	if prefix != "" {
		obj, _ := g.(map[string]any)
		msg, _ := obj["message"].(string)
		if !strings.HasPrefix(msg, prefix) {
			t.Errorf("message = %q, want prefix %q", msg, prefix)
		}
		obj["message"] = ""
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
}

func TestGatewayForwardsMetadata(t *testing.T) {
	for wiring := range wirings {
		t.Run(wiring, func(t *testing.T) {
			gw, auth := newGateway(t, wiring)
			rec := serve(gw, "POST", "/v1/auth/logout", strings.NewReader(`{"refresh_token":"rt"}`), http.Header{
				"Authorization":   {"Bearer at-1"},
				"X-Request-Id":    {"req-42"},
				"User-Agent":      {"ssokit-test/1"},
				"X-Forwarded-For": {"6.6.6.6"}, // a client trying to dodge throttling
				"Cookie":          {"session=s"},
			})
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200: %s", rec.Code, rec.Body)
			}
			assertJSON(t, rec.Body.Bytes(), `{}`, "")

			md, ip := auth.seen()
			want := map[string][]string{
				"authorization":          {"Bearer at-1"},
				"x-request-id":           {"req-42"},
				"grpcgateway-user-agent": {"ssokit-test/1"},
				"x-forwarded-for":        {"203.0.113.7"},
				"ssokit-client-addr":     {"203.0.113.7"},
			}
			for k, v := range want {
				if got := md.Get(k); !reflect.DeepEqual(got, v) {
					t.Errorf("metadata %s = %q, want %q", k, got, v)
				}
			}
			for _, k := range []string{"cookie", "grpcgateway-cookie", "grpcgateway-authorization"} {
				if got := md.Get(k); len(got) != 0 {
					t.Errorf("metadata %s = %q, want none", k, got)
				}
			}
			// In process there is no network peer: the address is the
			// gateway's. Over a connection the gateway did not open with
			// Mount, the call cannot prove where it comes from, and is
			// keyed by its peer (see TestMountProvesTheGateway).
			wantIP := map[string]string{"in process": "203.0.113.7", "from endpoint": "127.0.0.1"}[wiring]
			if ip != wantIP {
				t.Errorf("ClientIP = %q, want %s", ip, wantIP)
			}
		})
	}
}

func TestGatewayBodyLimitOption(t *testing.T) {
	gw, _ := newGateway(t, "in process", gateway.WithMaxBodyBytes(64))
	tests := []struct {
		name       string
		body       string
		wantStatus int
	}{
		{"at the limit", `{"email":"ann@example.com","password":"` + strings.Repeat("p", 64-41) + `"}`, http.StatusOK},
		{"one byte over", `{"email":"ann@example.com","password":"` + strings.Repeat("p", 65-41) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(gw, "POST", "/v1/auth/register", strings.NewReader(tt.body), nil)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d for %d bytes, want %d: %s", rec.Code, len(tt.body), tt.wantStatus, rec.Body)
			}
		})
	}
}

// TestGatewayRefusesBodiesNotDeclaredJSON holds the gateway to JSON bodies:
// a cross-site form or text/plain POST, which a browser sends without a
// preflight, is refused with 415 before any handler runs.
func TestGatewayRefusesBodiesNotDeclaredJSON(t *testing.T) {
	t.Parallel()
	body := `{"email":"ada@example.com","password":"correct horse"}`
	tests := []struct {
		name        string
		contentType []string // nil: no header at all
		body        string
		wantStatus  int
	}{
		{"json", []string{"application/json"}, body, http.StatusOK},
		{"json with charset", []string{"application/json; charset=utf-8"}, body, http.StatusOK},
		{"json, upper case", []string{"Application/JSON"}, body, http.StatusOK},
		{"form", []string{"application/x-www-form-urlencoded"}, body, http.StatusUnsupportedMediaType},
		{"multipart", []string{"multipart/form-data; boundary=x"}, body, http.StatusUnsupportedMediaType},
		{"text/plain", []string{"text/plain"}, body, http.StatusUnsupportedMediaType},
		{"no content type", []string{""}, body, http.StatusUnsupportedMediaType},
		{"malformed content type", []string{"application/json; ="}, body, http.StatusUnsupportedMediaType},
		// An empty body is the empty message: Register refuses it as
		// such, past the content-type check.
		{"empty body, any type", []string{"text/plain"}, "", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw, auth := newGateway(t, "in process")
			rec := serve(gw, http.MethodPost, "/v1/auth/register", strings.NewReader(tt.body), http.Header{"Content-Type": tt.contentType})
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus == http.StatusUnsupportedMediaType {
				if !strings.Contains(rec.Body.String(), `"message":"Content-Type must be application/json"`) {
					t.Fatalf("body = %s, want the gateway's error naming the Content-Type", rec.Body)
				}
				if md, _ := auth.seen(); md != nil {
					t.Fatal("the handler ran for a refused body")
				}
			}
		})
	}
}

// fakeLoyalty answers Deposit with the account it was given, so a test sees
// which user_id reached the service.
type fakeLoyalty struct {
	loyaltyv1.UnimplementedLoyaltyServiceServer
}

func (fakeLoyalty) Deposit(_ context.Context, req *loyaltyv1.DepositRequest) (*loyaltyv1.DepositResponse, error) {
	return &loyaltyv1.DepositResponse{Balance: req.GetAmount()}, nil
}

// TestGatewayBearerAndPathFields covers an API whose every call needs a
// token (WithBearerRequired) and a body beside a path parameter.
func TestGatewayBearerAndPathFields(t *testing.T) {
	t.Parallel()
	gw := gateway.New(gateway.WithBearerRequired())
	if err := loyaltyv1.RegisterLoyaltyServiceHandlerServer(t.Context(), gw, fakeLoyalty{}); err != nil {
		t.Fatal(err)
	}
	const path = "/v1/loyalty/accounts/8d1d4a5e-9f6c-4c1e-8a57-9d2a2c1b7f10:deposit"
	tests := []struct {
		name       string
		auth       string
		body       string
		wantStatus int
		wantBody   string
	}{
		{"token and a valid body", "Bearer t", `{"amount":"5","idempotency_key":"k"}`, http.StatusOK, `{"balance":"5"}`},
		{
			"int64 as a JSON number", "Bearer t", `{"amount":5,"idempotency_key":"k"}`, http.StatusBadRequest,
			errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", "invalid JSON body: invalid value for int64 field amount: 5 (a 64-bit integer is a string of decimal digits)"),
		},
		{
			"int64 with an exponent", "Bearer t", `{"amount":"5e0","idempotency_key":"k"}`, http.StatusBadRequest,
			errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", `invalid JSON body: invalid value for int64 field amount: "5e0" (a 64-bit integer is a string of decimal digits)`),
		},
		{
			"no token: 401 before the body is read", "", `{"amount":""}`, http.StatusUnauthorized,
			errJSON(codes.Unauthenticated, "UNAUTHENTICATED", "missing bearer access token"),
		},
		{
			"another scheme", "Basic dTpw", `{"amount":5}`, http.StatusUnauthorized,
			errJSON(codes.Unauthenticated, "UNAUTHENTICATED", "missing bearer access token"),
		},
		{
			"empty bearer", "Bearer ", `{"amount":5}`, http.StatusUnauthorized,
			errJSON(codes.Unauthenticated, "UNAUTHENTICATED", "missing bearer access token"),
		},
		{
			"path field in the body", "Bearer t", `{"user_id":"someone-else","amount":"5","idempotency_key":"k"}`, http.StatusBadRequest,
			`{"code":3,"status":"INVALID_ARGUMENT","message":"invalid JSON body: field \"user_id\" is given by the request path",` +
				`"details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[` +
				`{"field":"user_id","description":"is given by the request path, not the body"}]}]}`,
		},
		{
			"JSON name of a field", "Bearer t", `{"amount":"5","idempotencyKey":"k"}`, http.StatusBadRequest,
			errJSON(codes.InvalidArgument, "INVALID_ARGUMENT", `invalid JSON body: unknown field "idempotencyKey"`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := http.Header{}
			if tt.auth != "" {
				header.Set("Authorization", tt.auth)
			}
			rec := serve(gw, "POST", path, strings.NewReader(tt.body), header)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			assertJSON(t, rec.Body.Bytes(), tt.wantBody, "")
		})
	}

	// grpc-gateway would let GET /v1/loyalty/accounts/{user_id} take
	// ".../{id}:deposit" with "{id}:deposit" as the id; the API has POST
	// only there, and no route at all for another verb.
	for _, tt := range []struct{ method, path, allow string }{
		{"DELETE", "/v1/loyalty/accounts/8d1d4a5e-9f6c-4c1e-8a57-9d2a2c1b7f10", "GET"},
		{"DELETE", path, "POST"},
		{"GET", path, "POST"},
		{"GET", "/v1/loyalty/accounts/8d1d4a5e-9f6c-4c1e-8a57-9d2a2c1b7f10:close", ""},
	} {
		rec := serve(gw, tt.method, tt.path, nil, http.Header{"Authorization": {"Bearer t"}})
		want := http.StatusMethodNotAllowed
		if tt.allow == "" {
			want = http.StatusNotFound
		}
		if rec.Code != want || rec.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d, Allow %q; want %d, Allow %q: %s", tt.method, tt.path, rec.Code, rec.Header().Get("Allow"), want, tt.allow, rec.Body)
		}
	}
}

type fakeSessions struct {
	ssov1.UnimplementedSessionServiceServer
}

func (fakeSessions) RevokeSession(context.Context, *ssov1.RevokeSessionRequest) (*ssov1.RevokeSessionResponse, error) {
	return &ssov1.RevokeSessionResponse{}, nil
}

func (fakeSessions) RevokeAllSessions(context.Context, *ssov1.RevokeAllSessionsRequest) (*ssov1.RevokeAllSessionsResponse, error) {
	return &ssov1.RevokeAllSessionsResponse{Revoked: 2}, nil
}

// A path one route names literally is not another route's path parameter:
// DELETE .../sessions/{session_id} does not take .../sessions/revoke-all,
// whose only method is POST, as the OpenAPI document says.
func TestGatewayLiteralPathWinsOverParameter(t *testing.T) {
	t.Parallel()
	gw := gateway.New()
	if err := ssov1.RegisterSessionServiceHandlerServer(t.Context(), gw, fakeSessions{}); err != nil {
		t.Fatal(err)
	}
	const id = "/v1/users/me/sessions/8d1d4a5e-9f6c-4c1e-8a57-9d2a2c1b7f10"
	for _, tt := range []struct {
		method, path string
		want         int
		allow        string
	}{
		{"POST", "/v1/users/me/sessions/revoke-all", http.StatusOK, ""},
		{"DELETE", "/v1/users/me/sessions/revoke-all", http.StatusMethodNotAllowed, "POST"},
		{"OPTIONS", "/v1/users/me/sessions/revoke-all", http.StatusMethodNotAllowed, "POST"},
		{"GET", "/v1/users/me/sessions/revoke-all", http.StatusMethodNotAllowed, "POST"},
		{"DELETE", id, http.StatusOK, ""},
		{"POST", id, http.StatusMethodNotAllowed, "DELETE"},
		{"OPTIONS", id, http.StatusMethodNotAllowed, "DELETE"},
	} {
		var body io.Reader
		if tt.method == "POST" {
			body = strings.NewReader(`{}`)
		}
		rec := serve(gw, tt.method, tt.path, body, nil)
		if rec.Code != tt.want || rec.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d, Allow %q; want %d, Allow %q: %s", tt.method, tt.path, rec.Code, rec.Header().Get("Allow"), tt.want, tt.allow, rec.Body)
		}
	}
}
