package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/testenv"
)

// The tests in this file hold the running services to their OpenAPI
// documents (libs/gen/openapi); deploy/tools/api-fuzz.sh checks the same
// documents with generated requests.

// TestAPIValidateLeavesOutUnsetExpiry: the document types expires_at as a
// date-time string, so an invalid token's answer leaves it out rather than
// sending null; a valid token's answer carries it.
func TestAPIValidateLeavesOutUnsetExpiry(t *testing.T) {
	s := theSystem(t)
	t.Parallel()
	_, access := s.register(t, s.email(t), nil)
	url := "http://" + s.ssoHTTP + "/v1/auth/validate"

	r := call(t, http.MethodPost, url, "", map[string]string{"token": "not-a-token"}, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("validate a bad token: %d %s", r.Status, r.Raw)
	}
	if v, present := r.Body["expires_at"]; present {
		t.Errorf("invalid token: expires_at = %v, want the key absent: %s", v, r.Raw)
	}
	if r.Body["valid"] != false || r.Body["user_id"] != "" || r.Body["is_admin"] != false {
		t.Errorf("invalid token: body %s, want valid false, empty user_id, is_admin false", r.Raw)
	}

	r = call(t, http.MethodPost, url, "", map[string]string{"token": access}, nil)
	exp, err := time.Parse(time.RFC3339Nano, r.str("expires_at"))
	if r.Status != http.StatusOK || r.Body["valid"] != true || err != nil {
		t.Fatalf("validate a fresh token: %d %s (expires_at: %v)", r.Status, r.Raw, err)
	}
	if d := time.Until(exp); d < 10*time.Minute || d > 16*time.Minute {
		t.Errorf("expires_at %s is %s away, want about 15 minutes", exp, d)
	}
}

// TestAPIUndeclaredMethodListsAllowed: a method the path does not declare
// is 405 with an Allow header naming the ones it does (RFC 9110), and the
// gateway's error body.
func TestAPIUndeclaredMethodListsAllowed(t *testing.T) {
	s := theSystem(t)
	t.Parallel()
	const account = "/v1/loyalty/accounts/0b5e3c52-8f1c-4a55-9d1e-3a8e2f1f6c01"
	tests := []struct {
		method, url, allow string
	}{
		{http.MethodDelete, "http://" + s.ssoHTTP + "/v1/auth/login", "POST"},
		{http.MethodGet, "http://" + s.ssoHTTP + "/v1/auth/validate", "POST"},
		{http.MethodPut, "http://" + s.ssoHTTP + "/v1/users/me", "GET, DELETE"},
		{"TRACE", "http://" + s.ssoHTTP + "/v1/users/0b5e3c52-8f1c-4a55-9d1e-3a8e2f1f6c01/admin", "GET"},
		{http.MethodPost, "http://" + s.loyHTTP + account, "GET"},
		{http.MethodPut, "http://" + s.loyHTTP + account + "/transactions", "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+strings.TrimPrefix(tt.url, "http://"), func(t *testing.T) {
			req, err := http.NewRequestWithContext(testenv.Context(t, 30*time.Second), tt.method, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("status %d, want 405", resp.StatusCode)
			}
			if got := resp.Header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
			r := call(t, tt.method, tt.url, "", nil, nil)
			path := strings.SplitN(strings.TrimPrefix(tt.url, "http://"), "/", 2)[1]
			want := "method " + tt.method + " is not allowed for /" + path + " (allowed: " + tt.allow + ")"
			if r.Body["code"] != float64(codes.Unimplemented) || r.str("status") != "UNIMPLEMENTED" || r.str("message") != want {
				t.Errorf("body %s, want code 12, status UNIMPLEMENTED, message %q", r.Raw, want)
			}
		})
	}
}

// TestAPIErrorsNameFieldsAsTheAPI: errors name fields by their proto names
// (refresh_token), over REST and gRPC, in messages and in field violations;
// the camelCase aliases protojson would accept are unknown fields, as the
// document (which refuses unknown properties) says.
func TestAPIErrorsNameFieldsAsTheAPI(t *testing.T) {
	s := theSystem(t)
	t.Parallel()
	sso := "http://" + s.ssoHTTP

	t.Run("REST wrong type", func(t *testing.T) {
		r := call(t, http.MethodPost, sso+"/v1/auth/refresh", "", map[string]any{"refresh_token": 1}, nil)
		msg := r.str("message")
		if r.Status != http.StatusBadRequest || !strings.Contains(msg, "field refresh_token:") || strings.Contains(msg, "refreshToken") {
			t.Errorf("refresh with a number: %d %s, want 400 naming refresh_token", r.Status, r.Raw)
		}
	})
	t.Run("REST camelCase alias", func(t *testing.T) {
		for path, body := range map[string]map[string]string{
			"/v1/auth/refresh":  {"refreshToken": "x"},
			"/v1/auth/register": {"email": s.email(t), "password": password, "fullName": "Ada"},
		} {
			r := call(t, http.MethodPost, sso+path, "", body, nil)
			for alias := range body {
				if alias == "email" || alias == "password" {
					continue
				}
				want := `invalid JSON body: unknown field "` + alias + `"`
				if r.Status != http.StatusBadRequest || r.str("message") != want {
					t.Errorf("%s with %s: %d %s, want 400 %q", path, alias, r.Status, r.Raw, want)
				}
			}
		}
	})
	t.Run("REST field violation", func(t *testing.T) {
		r := call(t, http.MethodPost, sso+"/v1/auth/refresh", "", map[string]string{}, nil)
		if got := violatedField(r); r.Status != http.StatusBadRequest || got != "refresh_token" {
			t.Errorf("refresh without a token: %d %s, want 400 with a violation of refresh_token", r.Status, r.Raw)
		}
	})
	t.Run("REST logout without the refresh token", func(t *testing.T) {
		// The document requires refresh_token; a logout without it used to
		// answer 200 and leave the session's refresh token working.
		_, access := s.register(t, s.email(t), nil)
		r := call(t, http.MethodPost, sso+"/v1/auth/logout", access, map[string]string{}, nil)
		if got := violatedField(r); r.Status != http.StatusBadRequest || got != "refresh_token" {
			t.Errorf("logout without a refresh token: %d %s, want 400 with a violation of refresh_token", r.Status, r.Raw)
		}
	})
	t.Run("gRPC field violation", func(t *testing.T) {
		conn, err := grpc.NewClient(s.ssoGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = ssov1.NewAuthServiceClient(conn).Refresh(testenv.Context(t, 30*time.Second), &ssov1.RefreshRequest{})
		st := status.Convert(err)
		if st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), "refresh_token") {
			t.Fatalf("Refresh without a token: %v, want INVALID_ARGUMENT naming refresh_token", err)
		}
		var fields []string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					fields = append(fields, v.GetField())
				}
			}
		}
		if len(fields) != 1 || fields[0] != "refresh_token" {
			t.Errorf("field violations name %q, want [refresh_token]", fields)
		}
	})
}

// violatedField returns the field of the first BadRequest violation of an
// error body.
func violatedField(r restResponse) string {
	details, _ := r.Body["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		vs, _ := m["field_violations"].([]any)
		for _, v := range vs {
			f, _ := v.(map[string]any)
			if s, ok := f["field"].(string); ok {
				return s
			}
		}
	}
	return ""
}

// TestAPIRefusesWhatTheDocumentRefuses: requests that break the OpenAPI
// documents' schemas are refused, where the server used to be more lenient
// than the document (schemathesis reports such a request as accepted).
func TestAPIRefusesWhatTheDocumentRefuses(t *testing.T) {
	s := theSystem(t)
	t.Parallel()
	sso, loy := "http://"+s.ssoHTTP, "http://"+s.loyHTTP
	userID, access := s.register(t, s.email(t), nil)
	account := loy + "/v1/loyalty/accounts/" + userID
	tests := []struct {
		name, method, url string
		body              any
		want              int
	}{
		{"null for a string", http.MethodPost, sso + "/v1/auth/register",
			map[string]any{"email": s.email(t), "password": password, "full_name": nil}, http.StatusBadRequest},
		{"full_name of 201 as sent (trimmed to 199)", http.MethodPost, sso + "/v1/auth/register",
			map[string]any{"email": s.email(t), "password": password, "full_name": " " + strings.Repeat("n", 199) + " "}, http.StatusBadRequest},
		{"password of 6 code points, 8 after NFKC", http.MethodPost, sso + "/v1/auth/register",
			map[string]any{"email": s.email(t), "password": "\ufb03qz7k9"}, http.StatusBadRequest},
		{"int64 amount as a number", http.MethodPost, account + ":deposit",
			map[string]any{"amount": 5, "idempotency_key": "k"}, http.StatusBadRequest},
		{"path field in the body", http.MethodPost, account + ":deposit",
			map[string]any{"user_id": userID, "amount": "5", "idempotency_key": "k"}, http.StatusBadRequest},
		{"GET on a custom verb", http.MethodGet, account + ":deposit", nil, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, tt.method, tt.url, access, tt.body, nil)
			if r.Status != tt.want {
				t.Errorf("%s %s: %d %s, want %d", tt.method, tt.url, r.Status, r.Raw, tt.want)
			}
		})
	}

	// Without a token, loyalty-points answers 401 before it reads the body.
	r := call(t, http.MethodPost, account+":deposit", "", map[string]any{"amount": ""}, nil)
	if r.Status != http.StatusUnauthorized {
		t.Errorf("deposit without a token and a bad body: %d %s, want 401", r.Status, r.Raw)
	}
}
