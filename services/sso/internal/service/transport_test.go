package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/status"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/testenv"
)

// httpStatus is the HTTP status the gateway would answer for a gRPC error,
// so the same expectations hold for both transports.
func httpStatus(err error) int {
	if err == nil {
		return http.StatusOK
	}
	return runtime.HTTPStatusFromCode(status.Code(err))
}

var transports = []transport{
	{
		name: "rest",
		register: func(t *testing.T, h *harness, email, pw string) tokens {
			t.Helper()
			r := h.rest(t, http.MethodPost, "/v1/auth/register", "", map[string]string{"email": email, "password": pw, "full_name": "Test User"})
			if r.Status != http.StatusOK {
				t.Fatalf("register: %d %s", r.Status, r.Raw)
			}
			return tokens{r.str("user_id"), r.str("access_token"), r.str("refresh_token")}
		},
		login: func(t *testing.T, h *harness, email, pw string) (tokens, int) {
			r := h.rest(t, http.MethodPost, "/v1/auth/login", "", map[string]string{"email": email, "password": pw})
			return tokens{r.str("user_id"), r.str("access_token"), r.str("refresh_token")}, r.Status
		},
		refresh: func(t *testing.T, h *harness, refresh string) (tokens, int) {
			r := h.rest(t, http.MethodPost, "/v1/auth/refresh", "", map[string]string{"refresh_token": refresh})
			return tokens{r.str("user_id"), r.str("access_token"), r.str("refresh_token")}, r.Status
		},
		logout: func(t *testing.T, h *harness, access, refresh string) int {
			return h.rest(t, http.MethodPost, "/v1/auth/logout", access, map[string]string{"refresh_token": refresh}).Status
		},
		validate: func(t *testing.T, h *harness, token string) bool {
			t.Helper()
			r := h.rest(t, http.MethodPost, "/v1/auth/validate", "", map[string]string{"token": token})
			if r.Status != http.StatusOK {
				t.Fatalf("validate: %d %s", r.Status, r.Raw)
			}
			valid, ok := r.Body["valid"].(bool)
			if !ok {
				t.Fatalf("validate: no boolean 'valid' in %s", r.Raw)
			}
			return valid
		},
	},
	{
		name: "grpc",
		register: func(t *testing.T, h *harness, email, pw string) tokens {
			t.Helper()
			r, err := h.auth.Register(testenv.Context(t, 30*time.Second), &ssov1.RegisterRequest{Email: email, Password: pw, FullName: "Test User"})
			if err != nil {
				t.Fatalf("register: %v", err)
			}
			return tokens{r.GetUserId(), r.GetAccessToken(), r.GetRefreshToken()}
		},
		login: func(t *testing.T, h *harness, email, pw string) (tokens, int) {
			r, err := h.auth.Login(testenv.Context(t, 30*time.Second), &ssov1.LoginRequest{Email: email, Password: pw})
			return tokens{r.GetUserId(), r.GetAccessToken(), r.GetRefreshToken()}, httpStatus(err)
		},
		refresh: func(t *testing.T, h *harness, refresh string) (tokens, int) {
			r, err := h.auth.Refresh(testenv.Context(t, 30*time.Second), &ssov1.RefreshRequest{RefreshToken: refresh})
			return tokens{r.GetUserId(), r.GetAccessToken(), r.GetRefreshToken()}, httpStatus(err)
		},
		logout: func(t *testing.T, h *harness, access, refresh string) int {
			_, err := h.auth.Logout(withBearer(testenv.Context(t, 30*time.Second), access), &ssov1.LogoutRequest{RefreshToken: refresh})
			return httpStatus(err)
		},
		validate: func(t *testing.T, h *harness, token string) bool {
			t.Helper()
			r, err := h.auth.Validate(testenv.Context(t, 30*time.Second), &ssov1.ValidateRequest{Token: token})
			if err != nil {
				t.Fatalf("validate: %v", err)
			}
			return r.GetValid()
		},
	},
}
