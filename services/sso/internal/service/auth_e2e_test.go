package service_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/testenv"
)

func TestRegisterLoginValidateMe(t *testing.T) {
	h := sso(t)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			addr := email(t)
			reg := tr.register(t, h, addr, goodPassword)
			if reg.UserID == "" || reg.Access == "" || reg.Refresh == "" {
				t.Fatalf("register returned %+v", reg)
			}
			if !tr.validate(t, h, reg.Access) {
				t.Fatal("the access token from register does not validate")
			}
			login, code := tr.login(t, h, strings.ToUpper(addr), goodPassword)
			if code != http.StatusOK || login.UserID != reg.UserID || login.Access == reg.Access {
				t.Fatalf("login: %d %+v", code, login)
			}

			me := h.rest(t, http.MethodGet, "/v1/users/me", login.Access, nil)
			if me.Status != http.StatusOK {
				t.Fatalf("GET /v1/users/me: %d %s", me.Status, me.Raw)
			}
			if me.str("user_id") != reg.UserID || me.str("email") != addr || me.str("full_name") != "Test User" || me.Body["is_admin"] != false {
				t.Fatalf("me = %s", me.Raw)
			}
			if _, err := time.Parse(time.RFC3339Nano, me.str("created_at")); err != nil {
				t.Fatalf("created_at %q: %v", me.str("created_at"), err)
			}
			if !strings.HasPrefix(me.str("registration_event_status"), "REGISTRATION_EVENT_STATUS_") {
				t.Fatalf("registration_event_status = %q", me.str("registration_event_status"))
			}

			gme, err := h.users.GetMe(withBearer(testenv.Context(t, 10*time.Second), login.Access), &ssov1.GetMeRequest{})
			if err != nil || gme.GetUserId() != reg.UserID || gme.GetEmail() != addr {
				t.Fatalf("GetMe = %v, %v", gme, err)
			}
		})
	}
}

func TestMeNeedsAValidBearer(t *testing.T) {
	h := sso(t)
	tests := []struct {
		name   string
		bearer string
	}{
		{"no token", ""},
		{"garbage", "not.a.jwt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.rest(t, http.MethodGet, "/v1/users/me", tt.bearer, nil)
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("REST: %d %s, want 401", r.Status, r.Raw)
			}
			ctx := testenv.Context(t, 10*time.Second)
			if tt.bearer != "" {
				ctx = withBearer(ctx, tt.bearer)
			}
			_, err := h.users.GetMe(ctx, &ssov1.GetMeRequest{})
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("gRPC: %v, want Unauthenticated", err)
			}
		})
	}
}

func TestRegisterRejectsBadInput(t *testing.T) {
	h := sso(t)
	taken := email(t)
	transports[0].register(t, h, taken, goodPassword)

	tests := []struct {
		name       string
		body       any
		wantStatus int
		wantInMsg  string
	}{
		{"duplicate e-mail", map[string]string{"email": taken, "password": goodPassword}, http.StatusConflict, "already registered"},
		{"duplicate e-mail in other case", map[string]string{"email": strings.ToUpper(taken), "password": goodPassword}, http.StatusConflict, "already registered"},
		{"malformed JSON", `{"email": "a@example.test", "password": `, http.StatusBadRequest, ""},
		{"empty body", "", http.StatusBadRequest, "email"},
		{"bad e-mail", map[string]string{"email": "not-an-email", "password": goodPassword}, http.StatusBadRequest, "email"},
		{"short password", map[string]string{"email": email(t), "password": "short"}, http.StatusBadRequest, "password"},
		{"common password", map[string]string{"email": email(t), "password": "password123"}, http.StatusBadRequest, "password"},
		{"32 KiB password", map[string]string{"email": email(t), "password": strings.Repeat("p", 32<<10)}, http.StatusBadRequest, "password"},
		{"wrong JSON type", `{"email": 42, "password": "x"}`, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.rest(t, http.MethodPost, "/v1/auth/register", "", tt.body)
			if r.Status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.wantStatus, r.Raw)
			}
			msg := r.str("message")
			if msg == "" || !strings.Contains(strings.ToLower(msg), tt.wantInMsg) {
				t.Fatalf("message %q, want one mentioning %q", msg, tt.wantInMsg)
			}
		})
	}

	t.Run("grpc", func(t *testing.T) {
		ctx := testenv.Context(t, 10*time.Second)
		_, err := h.auth.Register(ctx, &ssov1.RegisterRequest{Email: taken, Password: goodPassword})
		if status.Code(err) != codes.AlreadyExists {
			t.Fatalf("duplicate: %v, want AlreadyExists", err)
		}
		_, err = h.auth.Register(ctx, &ssov1.RegisterRequest{Email: "nope", Password: goodPassword})
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("bad e-mail: %v, want InvalidArgument", err)
		}
		_, err = h.auth.Register(ctx, &ssov1.RegisterRequest{Email: email(t), Password: strings.Repeat("p", 32<<10)})
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("32 KiB password: %v, want InvalidArgument", err)
		}
	})
}

func TestRefreshRotationDetectsReuse(t *testing.T) {
	h := sso(t)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			first := tr.register(t, h, email(t), goodPassword)
			second, code := tr.refresh(t, h, first.Refresh)
			if code != http.StatusOK || second.Refresh == "" || second.Refresh == first.Refresh {
				t.Fatalf("refresh #1: %d %+v", code, second)
			}
			if !tr.validate(t, h, second.Access) {
				t.Fatal("refreshed access token does not validate")
			}
			if _, code := tr.refresh(t, h, first.Refresh); code != http.StatusUnauthorized {
				t.Fatalf("reusing #1: %d, want 401", code)
			}
			if _, code := tr.refresh(t, h, second.Refresh); code != http.StatusUnauthorized {
				t.Fatalf("#2 after reuse of #1: %d, want 401 (family revoked)", code)
			}
			if _, code := tr.refresh(t, h, "made-up-token"); code != http.StatusUnauthorized {
				t.Fatalf("unknown refresh token: %d, want 401", code)
			}
		})
	}
}

func TestLogoutRevokesBothTokens(t *testing.T) {
	h := sso(t)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			tok := tr.register(t, h, email(t), goodPassword)
			// Validated once, the token is in sso's verified-token cache:
			// logout must still end it, as revocation is checked each time.
			if !tr.validate(t, h, tok.Access) {
				t.Fatal("fresh access token not valid")
			}
			if code := tr.logout(t, h, tok.Access, tok.Refresh); code != http.StatusOK {
				t.Fatalf("logout: %d", code)
			}
			if tr.validate(t, h, tok.Access) {
				t.Fatal("access token still valid after logout")
			}
			if _, code := tr.refresh(t, h, tok.Refresh); code != http.StatusUnauthorized {
				t.Fatalf("refresh after logout: %d, want 401", code)
			}
			if r := h.rest(t, http.MethodGet, "/v1/users/me", tok.Access, nil); r.Status != http.StatusUnauthorized {
				t.Fatalf("me after logout: %d, want 401", r.Status)
			}
		})
	}
}

func TestLoginThrottle(t *testing.T) {
	h := sso(t)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel() // each its own account
			addr := email(t)
			tr.register(t, h, addr, goodPassword)
			if _, code := tr.login(t, h, "nobody-"+addr, goodPassword); code != http.StatusUnauthorized {
				t.Fatalf("unknown e-mail: %d, want 401", code)
			}
			for i := range loginLimit {
				if _, code := tr.login(t, h, addr, "wrong password "+strconv.Itoa(i)); code != http.StatusUnauthorized {
					t.Fatalf("wrong password %d: %d, want 401", i, code)
				}
			}
			start := time.Now()
			if _, code := tr.login(t, h, addr, goodPassword); code != http.StatusTooManyRequests {
				t.Fatalf("right password over the limit: %d, want 429", code)
			}
			if tr.name == "rest" {
				r := h.rest(t, http.MethodPost, "/v1/auth/login", "", map[string]string{"email": addr, "password": goodPassword})
				secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
				if r.Status != http.StatusTooManyRequests || err != nil || secs < 1 || secs > int(loginWindow.Seconds())+1 {
					t.Fatalf("429 with Retry-After %q (status %d), want 1..%v s", r.Header.Get("Retry-After"), r.Status, loginWindow.Seconds())
				}
			}
			// Refused attempts do not extend the window: the right password
			// gets in once it ends, whenever Redis ends it.
			var code int
			if !testenv.Eventually(loginWindow+5*time.Second, 100*time.Millisecond, func() bool {
				_, code = tr.login(t, h, addr, goodPassword)
				return code == http.StatusOK
			}) {
				t.Fatalf("right password %s after the block: %d, want 200", time.Since(start), code)
			}
		})
	}
}

// TestIsAdminNeedsTheUserOrAnAdministrator asks IsAdmin over REST and
// gRPC as nobody, as a user about itself and about others, and as an
// administrator (made as the README says, in the database).
func TestIsAdminNeedsTheUserOrAnAdministrator(t *testing.T) {
	t.Parallel()
	h := sso(t)
	ada := transports[0].register(t, h, email(t), goodPassword)
	rootEmail := email(t)
	root := transports[0].register(t, h, rootEmail, goodPassword)
	if _, err := h.primary.Exec("UPDATE users SET is_admin = true WHERE id = $1", root.UserID); err != nil {
		t.Fatal(err)
	}
	root, code := transports[0].login(t, h, rootEmail, goodPassword)
	if code != http.StatusOK {
		t.Fatalf("administrator login: %d", code)
	}
	unknown := "3f1c8f0e-2f4b-4a57-a3e8-0c6f1f2b9e42"
	tests := []struct {
		name       string
		access     string
		userID     string
		wantStatus int
		wantCode   codes.Code
		wantAdmin  bool
	}{
		{"nobody", "", ada.UserID, http.StatusUnauthorized, codes.Unauthenticated, false},
		{"forged token", "x.y.z", ada.UserID, http.StatusUnauthorized, codes.Unauthenticated, false},
		{"user about itself", ada.Access, ada.UserID, http.StatusOK, codes.OK, false},
		{"user about an administrator", ada.Access, root.UserID, http.StatusForbidden, codes.PermissionDenied, false},
		{"user about an unknown id", ada.Access, unknown, http.StatusForbidden, codes.PermissionDenied, false},
		{"user about a non-UUID", ada.Access, "42", http.StatusForbidden, codes.PermissionDenied, false},
		{"administrator about a user", root.Access, ada.UserID, http.StatusOK, codes.OK, false},
		{"administrator about itself", root.Access, root.UserID, http.StatusOK, codes.OK, true},
		{"administrator about an unknown id", root.Access, unknown, http.StatusNotFound, codes.NotFound, false},
		{"administrator about a non-UUID", root.Access, "42", http.StatusBadRequest, codes.InvalidArgument, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.rest(t, http.MethodGet, "/v1/users/"+tt.userID+"/admin", tt.access, nil)
			if r.Status != tt.wantStatus {
				t.Fatalf("REST: %d %s, want %d", r.Status, r.Raw, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK && r.Body["is_admin"] != tt.wantAdmin {
				t.Fatalf("REST is_admin = %v, want %v", r.Body["is_admin"], tt.wantAdmin)
			}
			ctx := testenv.Context(t, 10*time.Second)
			if tt.access != "" {
				ctx = withBearer(ctx, tt.access)
			}
			resp, err := h.users.IsAdmin(ctx, &ssov1.IsAdminRequest{UserId: tt.userID})
			if status.Code(err) != tt.wantCode {
				t.Fatalf("gRPC: %v, want %v", err, tt.wantCode)
			}
			if err == nil && resp.GetIsAdmin() != tt.wantAdmin {
				t.Fatalf("gRPC is_admin = %v, want %v", resp.GetIsAdmin(), tt.wantAdmin)
			}
		})
	}
}

// TestRESTRefusesBodiesNotDeclaredJSON posts a registration as the forms a
// browser sends cross-site without a preflight: each is refused with 415
// and creates no account, so the same registration then succeeds as JSON.
func TestRESTRefusesBodiesNotDeclaredJSON(t *testing.T) {
	t.Parallel()
	h := sso(t)
	addr := email(t)
	body := `{"email":"` + addr + `","password":"` + goodPassword + `"}`
	for _, contentType := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
		req, err := http.NewRequestWithContext(testenv.Context(t, 10*time.Second), http.MethodPost, h.baseURL+"/v1/auth/register", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Fatalf("Content-Type %q: %d %s, want 415", contentType, resp.StatusCode, raw)
		}
	}
	if r := h.rest(t, http.MethodPost, "/v1/auth/register", "", body); r.Status != http.StatusOK {
		t.Fatalf("register as JSON after the refusals: %d %s", r.Status, r.Raw)
	}
}
