package service_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/config"
	"github.com/ssokit/platform/services/sso/internal/service"
)

// TestLogoutByRefreshTokenAlone ends a session as a client idle past its
// access token's lifetime does: with the refresh token and no access token,
// or with one that no longer validates. The whole family ends, including
// the current token when the one presented was already rotated away.
func TestLogoutByRefreshTokenAlone(t *testing.T) {
	h := sso(t)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel() // each its own accounts
			t.Run("no access token", func(t *testing.T) {
				tok := tr.register(t, h, email(t), goodPassword)
				if code := tr.logout(t, h, "", tok.Refresh); code != http.StatusOK {
					t.Fatalf("logout with the refresh token alone: %d, want 200", code)
				}
				if _, code := tr.refresh(t, h, tok.Refresh); code != http.StatusUnauthorized {
					t.Fatalf("refresh after logout: %d, want 401", code)
				}
				// Logging out again, as a client retrying would, still
				// succeeds and says nothing more.
				if code := tr.logout(t, h, "", tok.Refresh); code != http.StatusOK {
					t.Fatalf("second logout: %d, want 200", code)
				}
			})
			t.Run("invalid access token", func(t *testing.T) {
				tok := tr.register(t, h, email(t), goodPassword)
				if code := tr.logout(t, h, "expired.or.forged", tok.Refresh); code != http.StatusOK {
					t.Fatalf("logout with an invalid bearer: %d, want 200", code)
				}
				if _, code := tr.refresh(t, h, tok.Refresh); code != http.StatusUnauthorized {
					t.Fatalf("refresh after logout: %d, want 401", code)
				}
			})
			t.Run("rotated-away refresh token", func(t *testing.T) {
				first := tr.register(t, h, email(t), goodPassword)
				second, code := tr.refresh(t, h, first.Refresh)
				if code != http.StatusOK {
					t.Fatalf("refresh: %d", code)
				}
				if code := tr.logout(t, h, "", first.Refresh); code != http.StatusOK {
					t.Fatalf("logout with the rotated-away token: %d, want 200", code)
				}
				if _, code := tr.refresh(t, h, second.Refresh); code != http.StatusUnauthorized {
					t.Fatalf("refresh with the current token after logout: %d, want 401", code)
				}
			})
			t.Run("unknown refresh token", func(t *testing.T) {
				bystander := tr.register(t, h, email(t), goodPassword)
				if code := tr.logout(t, h, "", "never-issued-"+bystander.UserID); code != http.StatusOK {
					t.Fatalf("logout with an unknown refresh token: %d, want 200 (nothing to end)", code)
				}
				if _, code := tr.refresh(t, h, bystander.Refresh); code != http.StatusOK {
					t.Fatalf("another session after that logout: %d, want 200", code)
				}
			})
		})
	}
}

// TestLogoutNeedsTheRefreshToken: the refresh token is what logout ends,
// so leaving it out is a client error, not a success that ends nothing,
// even with a valid access token.
func TestLogoutNeedsTheRefreshToken(t *testing.T) {
	h := sso(t)
	tok := transports[0].register(t, h, email(t), goodPassword)
	for _, body := range []any{map[string]string{}, map[string]string{"refresh_token": ""}, `{}`} {
		r := h.rest(t, http.MethodPost, "/v1/auth/logout", tok.Access, body)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("REST logout with body %v: %d %s, want 400", body, r.Status, r.Raw)
		}
		if got := restViolatedFields(r); len(got) != 1 || got[0] != "refresh_token" {
			t.Fatalf("REST logout with body %v: field violations %v, want [refresh_token] in %s", body, got, r.Raw)
		}
	}

	_, err := h.auth.Logout(withBearer(testenv.Context(t, 10*time.Second), tok.Access), &ssov1.LogoutRequest{})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("gRPC logout without refresh_token: %v, want InvalidArgument", err)
	}
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if len(fields) != 1 || fields[0] != "refresh_token" {
		t.Fatalf("gRPC field violations %v, want [refresh_token]", fields)
	}

	// Refused, the logouts ended nothing.
	for _, tr := range transports {
		if !tr.validate(t, h, tok.Access) {
			t.Fatalf("%s: access token no longer valid after refused logouts", tr.name)
		}
	}
	if _, code := transports[0].refresh(t, h, tok.Refresh); code != http.StatusOK {
		t.Fatalf("refresh after refused logouts: %d, want 200", code)
	}
}

// restViolatedFields lists the fields named by a REST error's BadRequest
// detail.
func restViolatedFields(r restResponse) []string {
	var fields []string
	details, _ := r.Body["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		if m["@type"] != "type.googleapis.com/google.rpc.BadRequest" {
			continue
		}
		vs, _ := m["field_violations"].([]any)
		if vs == nil {
			vs, _ = m["fieldViolations"].([]any)
		}
		for _, v := range vs {
			if f, ok := v.(map[string]any)["field"].(string); ok {
				fields = append(fields, f)
			}
		}
	}
	return fields
}

// familyTTL is the absolute session lifetime of the process
// TestRefreshCannotOutliveTheFamily starts: short, so the test sees it end.
const familyTTL = 3 * time.Second

// TestRefreshCannotOutliveTheFamily refreshes as often as a client may and
// still loses the session when it reaches its absolute lifetime.
func TestRefreshCannotOutliveTheFamily(t *testing.T) {
	h := sso(t)
	short := startVariant(t, h, func(c *config.Config) { c.Tokens.RefreshFamilyTTL = familyTTL })
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel() // each its own account
			addr := email(t)
			begin := time.Now()
			tok := tr.register(t, short, addr, goodPassword)
			var lastOK time.Duration
			for {
				next, code := tr.refresh(t, short, tok.Refresh)
				at := time.Since(begin)
				if code == http.StatusUnauthorized {
					break
				}
				if code != http.StatusOK {
					t.Fatalf("refresh %s after login: %d", at, code)
				}
				if at > familyTTL+2*time.Second {
					t.Fatalf("refresh still works %s after login; the session's lifetime is %s", at, familyTTL)
				}
				lastOK, tok = at, next
				time.Sleep(200 * time.Millisecond)
			}
			if lastOK < familyTTL/2 {
				t.Fatalf("last successful refresh %s after login, want the session to last about %s", lastOK, familyTTL)
			}
			// Logging in again starts a new session.
			again, code := tr.login(t, short, addr, goodPassword)
			if code != http.StatusOK {
				t.Fatalf("login after the session ended: %d", code)
			}
			if _, code := tr.refresh(t, short, again.Refresh); code != http.StatusOK {
				t.Fatalf("refresh of the new session: %d, want 200", code)
			}
		})
	}
}

// startVariant runs a second sso process on the test's database, Redis
// prefix and signing keys, with the configuration changed by mutate, until
// the test ends.
func startVariant(t *testing.T, base *harness, mutate func(*config.Config)) *harness {
	t.Helper()
	cfg := base.cfg
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	mutate(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	proc, err := service.New(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatalf("start sso variant: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sso variant stopped with: %v", err)
		}
	})
	h := *base
	h.cfg, h.baseURL = cfg, "http://"+proc.Addr("http")
	h.conn, err = grpc.NewClient(proc.Addr("grpc"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.conn.Close() })
	h.auth, h.users = ssov1.NewAuthServiceClient(h.conn), ssov1.NewUserServiceClient(h.conn)
	if !testenv.Eventually(10*time.Second, 50*time.Millisecond, func() bool {
		resp, err := http.Get(h.baseURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		t.Fatal("sso variant never became ready")
	}
	return &h
}
