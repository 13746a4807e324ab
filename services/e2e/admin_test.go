package e2e_test

import (
	"errors"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/testenv"
)

// login logs email in over REST and returns its token pair.
func (s *system) login(t *testing.T, email string) pair {
	t.Helper()
	return tokens(t, "login "+email, call(t, http.MethodPost, s.url("/v1/auth/login"), "",
		map[string]string{"email": email, "password": password}, nil))
}

// admin registers an account, makes it an administrator with the
// `sso admin grant` command, and returns its id and a fresh login's pair,
// whose access token carries the role.
func (s *system) admin(t *testing.T) (string, pair) {
	t.Helper()
	email := s.email(t)
	id, _ := s.register(t, email, nil)
	if out, err := s.ssoCommand(s.ssoEnv, "admin", "grant", email); err != nil {
		t.Fatalf("sso admin grant: %v\n%s", err, out)
	}
	return id, s.login(t, email)
}

func adminURL(s *system, path string) string { return s.url("/v1/admin/users" + path) }

func TestAdminAPIRefusesNonAdministrators(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	// The target is a real user: the answer must not depend on it.
	target, _ := s.register(t, s.email(t)+"x", nil)
	_, plain := s.register(t, s.email(t), nil)
	routes := []struct{ method, path string }{
		{http.MethodGet, ""},
		{http.MethodGet, "?email_prefix=a"},
		{http.MethodGet, "/" + target},
		{http.MethodGet, "/not-a-uuid"},
		{http.MethodPost, "/" + target + "/disable"},
		{http.MethodPost, "/" + target + "/enable"},
		{http.MethodPost, "/" + target + "/admin"},
		{http.MethodDelete, "/" + target + "/admin"},
		{http.MethodPost, "/" + target + "/sessions/revoke-all"},
		{http.MethodDelete, "/" + target},
	}
	for i := range routes {
		routes[i].path = "/v1/admin/users" + routes[i].path
	}
	// The OpenID Connect clients (an unknown id: the answer must not
	// depend on it either).
	routes = append(routes, []struct{ method, path string }{
		{http.MethodGet, "/v1/admin/clients"},
		{http.MethodPost, "/v1/admin/clients"},
		{http.MethodGet, "/v1/admin/clients/some-client"},
		{http.MethodDelete, "/v1/admin/clients/some-client"},
		{http.MethodPost, "/v1/admin/clients/some-client/secret"},
	}...)
	for _, r := range routes {
		var body any
		if r.method == http.MethodPost {
			body = map[string]any{}
		}
		if got := call(t, r.method, s.url(r.path), plain, body, nil); got.Status != http.StatusForbidden {
			t.Errorf("%s %s as a plain user: %d %s, want 403", r.method, r.path, got.Status, got.Raw)
		}
		if got := call(t, r.method, s.url(r.path), "", body, nil); got.Status != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d %s, want 401", r.method, r.path, got.Status, got.Raw)
		}
		if got := call(t, r.method, s.url(r.path), "not.a.token", body, nil); got.Status != http.StatusUnauthorized {
			t.Errorf("%s %s with a forged token: %d %s, want 401", r.method, r.path, got.Status, got.Raw)
		}
	}
	// The user is untouched.
	if v := call(t, http.MethodPost, s.url("/v1/auth/validate"), "", map[string]string{"token": plain}, nil); v.Body["valid"] != true {
		t.Errorf("the plain user's token after the refusals: %s, want valid", v.Raw)
	}

	conn, err := grpc.NewClient(s.ssoGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := ssov1.NewAdminServiceClient(conn)
	ctx := testenv.Context(t, 30*time.Second)
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+plain)
	calls := map[string]func() error{
		"ListUsers":   func() error { _, err := c.ListUsers(authed, &ssov1.ListUsersRequest{}); return err },
		"GetUser":     func() error { _, err := c.GetUser(authed, &ssov1.GetUserRequest{UserId: target}); return err },
		"DisableUser": func() error { _, err := c.DisableUser(authed, &ssov1.DisableUserRequest{UserId: target}); return err },
		"EnableUser":  func() error { _, err := c.EnableUser(authed, &ssov1.EnableUserRequest{UserId: target}); return err },
		"GrantAdmin":  func() error { _, err := c.GrantAdmin(authed, &ssov1.GrantAdminRequest{UserId: target}); return err },
		"RevokeAdmin": func() error { _, err := c.RevokeAdmin(authed, &ssov1.RevokeAdminRequest{UserId: target}); return err },
		"RevokeUserSessions": func() error {
			_, err := c.RevokeUserSessions(authed, &ssov1.RevokeUserSessionsRequest{UserId: target})
			return err
		},
		"DeleteUser": func() error { _, err := c.DeleteUser(authed, &ssov1.DeleteUserRequest{UserId: target}); return err },
		"CreateClient": func() error {
			_, err := c.CreateClient(authed, &ssov1.CreateClientRequest{Name: "x", RedirectUris: []string{"https://x.example/cb"}})
			return err
		},
		"ListClients": func() error { _, err := c.ListClients(authed, &ssov1.ListClientsRequest{}); return err },
		"GetClient": func() error {
			_, err := c.GetClient(authed, &ssov1.GetClientRequest{ClientId: "some-client"})
			return err
		},
		"DeleteClient": func() error {
			_, err := c.DeleteClient(authed, &ssov1.DeleteClientRequest{ClientId: "some-client"})
			return err
		},
		"RotateClientSecret": func() error {
			_, err := c.RotateClientSecret(authed, &ssov1.RotateClientSecretRequest{ClientId: "some-client"})
			return err
		},
		"ListAuditEvents": func() error {
			_, err := c.ListAuditEvents(authed, &ssov1.ListAuditEventsRequest{UserId: target})
			return err
		},
	}
	if n := len(ssov1.AdminService_ServiceDesc.Methods); n != len(calls) {
		t.Errorf("AdminService has %d methods, the table %d: add the new one", n, len(calls))
	}
	for name, f := range calls {
		if err := f(); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s over gRPC as a plain user: %v, want PERMISSION_DENIED", name, err)
		}
	}
	if _, err := c.ListUsers(ctx, &ssov1.ListUsersRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("ListUsers over gRPC without a token: %v, want UNAUTHENTICATED", err)
	}
}

func TestAdminGrantCommandMakesAnAdministrator(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	email := s.email(t)
	id, before := s.register(t, email, nil)
	if r := call(t, http.MethodGet, adminURL(s, "/"+id), before, nil, nil); r.Status != http.StatusForbidden {
		t.Fatalf("before the grant: %d %s, want 403", r.Status, r.Raw)
	}
	for range 2 { // idempotent
		if out, err := s.ssoCommand(s.ssoEnv, "admin", "grant", strings.ToUpper(email)); err != nil {
			t.Fatalf("sso admin grant: %v\n%s", err, out)
		} else if strings.Contains(string(out), email) {
			t.Errorf("the command logged the e-mail address: %s", out)
		}
	}
	admin := s.login(t, email)
	r := call(t, http.MethodGet, adminURL(s, "/"+id), admin.access, nil, nil)
	u, _ := r.Body["user"].(map[string]any)
	if r.Status != http.StatusOK || u["is_admin"] != true || u["email"] != email || u["disabled"] != false {
		t.Fatalf("GET the admin itself: %d %s", r.Status, r.Raw)
	}
	if n, _ := r.Body["live_sessions"].(float64); n != 2 {
		t.Errorf("live_sessions = %v, want 2 (registration and login)", r.Body["live_sessions"])
	}
	// The same over gRPC.
	conn, err := grpc.NewClient(s.ssoGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	authed := metadata.AppendToOutgoingContext(testenv.Context(t, 30*time.Second), "authorization", "Bearer "+admin.access)
	got, err := ssov1.NewAdminServiceClient(conn).GetUser(authed, &ssov1.GetUserRequest{UserId: id})
	if err != nil || got.GetUser().GetEmail() != email || !got.GetUser().GetIsAdmin() {
		t.Errorf("GetUser over gRPC = %v, %v", got, err)
	}
	if _, err := ssov1.NewAdminServiceClient(conn).GetUser(authed, &ssov1.GetUserRequest{UserId: "00000000-0000-4000-8000-000000000000"}); status.Code(err) != codes.NotFound {
		t.Errorf("GetUser(unknown) over gRPC: %v, want NOT_FOUND", err)
	}
	if r := call(t, http.MethodGet, adminURL(s, "/00000000-0000-4000-8000-000000000000"), admin.access, nil, nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown id: %d %s, want 404", r.Status, r.Raw)
	}
	if r := call(t, http.MethodPost, adminURL(s, "/00000000-0000-4000-8000-000000000000/disable"), admin.access, map[string]any{}, nil); r.Status != http.StatusNotFound {
		t.Errorf("disable an unknown id: %d %s, want 404", r.Status, r.Raw)
	}
	// Neither on itself.
	if r := call(t, http.MethodPost, adminURL(s, "/"+id+"/disable"), admin.access, map[string]any{}, nil); r.Status != http.StatusBadRequest {
		t.Errorf("disable itself: %d %s, want 400 (FAILED_PRECONDITION)", r.Status, r.Raw)
	}
	if r := call(t, http.MethodDelete, adminURL(s, "/"+id+"/admin"), admin.access, nil, nil); r.Status != http.StatusBadRequest {
		t.Errorf("revoke its own role: %d %s, want 400 (FAILED_PRECONDITION)", r.Status, r.Raw)
	}

	// An unknown address fails with a non-zero exit.
	out, err := s.ssoCommand(s.ssoEnv, "admin", "grant", "nobody-"+randomHex(4)+"@example.test")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 || !strings.Contains(string(out), "no account has this e-mail address") {
		t.Errorf("grant for an unknown address: %v\n%s; want a non-zero exit saying so", err, out)
	}
	// The command revokes too, ending the sessions whose tokens carry the
	// role.
	if out, err := s.ssoCommand(s.ssoEnv, "admin", "revoke", email); err != nil {
		t.Fatalf("sso admin revoke: %v\n%s", err, out)
	}
	if ok, refreshOK, _ := s.alive(t, admin); ok || refreshOK {
		t.Errorf("after sso admin revoke: access ok %v, refresh ok %v; want both refused", ok, refreshOK)
	}
	if r := call(t, http.MethodGet, adminURL(s, ""), s.login(t, email).access, nil, nil); r.Status != http.StatusForbidden {
		t.Errorf("a new login after the revocation: %d %s, want 403", r.Status, r.Raw)
	}
}

func TestAdminDisableEndsAccessAndEnableRestoresLogin(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	_, admin := s.admin(t)
	email := s.email(t)
	id, _ := s.register(t, email, nil)
	live := s.login(t, email)

	r := call(t, http.MethodPost, adminURL(s, "/"+id+"/disable"), admin.access, map[string]any{}, nil)
	if u, _ := r.Body["user"].(map[string]any); r.Status != http.StatusOK || u["disabled"] != true {
		t.Fatalf("disable: %d %s", r.Status, r.Raw)
	}
	// The live access token is refused at the next Validate, its refresh
	// token too, and a login gets the answer of a wrong password.
	if ok, refreshOK, _ := s.alive(t, live); ok || refreshOK {
		t.Errorf("after disable: access ok %v, refresh ok %v; want both refused", ok, refreshOK)
	}
	login := call(t, http.MethodPost, s.url("/v1/auth/login"), "", map[string]string{"email": email, "password": password}, nil)
	wrong := call(t, http.MethodPost, s.url("/v1/auth/login"), "", map[string]string{"email": email, "password": password + "!"}, nil)
	if login.Status != http.StatusUnauthorized || login.str("message") != wrong.str("message") {
		t.Errorf("login when disabled: %d %s; a wrong password: %d %s; want the same 401", login.Status, login.Raw, wrong.Status, wrong.Raw)
	}
	if r := call(t, http.MethodGet, adminURL(s, "/"+id), admin.access, nil, nil); r.Body["live_sessions"] != float64(0) {
		t.Errorf("live_sessions of the disabled user: %s, want 0", r.Raw)
	}

	r = call(t, http.MethodPost, adminURL(s, "/"+id+"/enable"), admin.access, map[string]any{}, nil)
	if u, _ := r.Body["user"].(map[string]any); r.Status != http.StatusOK || u["disabled"] != false {
		t.Fatalf("enable: %d %s", r.Status, r.Raw)
	}
	again := s.login(t, email)
	if ok, refreshOK, _ := s.alive(t, again); !ok || !refreshOK {
		t.Errorf("after enable: access ok %v, refresh ok %v; want both", ok, refreshOK)
	}
}

func TestAdminRoleChangesAndRevokeAll(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	_, admin := s.admin(t)
	email := s.email(t)
	id, _ := s.register(t, email, nil)

	r := call(t, http.MethodPost, adminURL(s, "/"+id+"/admin"), admin.access, map[string]any{}, nil)
	if u, _ := r.Body["user"].(map[string]any); r.Status != http.StatusOK || u["is_admin"] != true {
		t.Fatalf("grant: %d %s", r.Status, r.Raw)
	}
	second := s.login(t, email)
	if r := call(t, http.MethodGet, adminURL(s, ""), second.access, nil, nil); r.Status != http.StatusOK {
		t.Fatalf("the granted admin lists users: %d %s", r.Status, r.Raw)
	}
	// Revoking the role ends the sessions whose tokens say admin.
	r = call(t, http.MethodDelete, adminURL(s, "/"+id+"/admin"), admin.access, nil, nil)
	if u, _ := r.Body["user"].(map[string]any); r.Status != http.StatusOK || u["is_admin"] != false {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	if r := call(t, http.MethodGet, adminURL(s, ""), second.access, nil, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("the demoted admin's old token: %d %s, want 401", r.Status, r.Raw)
	}
	if ok, refreshOK, _ := s.alive(t, second); ok || refreshOK {
		t.Errorf("after the revocation: access ok %v, refresh ok %v; want both refused", ok, refreshOK)
	}

	// revoke-all ends every session of the user and says how many.
	a, b := s.login(t, email), s.login(t, email)
	r = call(t, http.MethodPost, adminURL(s, "/"+id+"/sessions/revoke-all"), admin.access, map[string]any{}, nil)
	if r.Status != http.StatusOK || r.Body["revoked"] != float64(2) {
		t.Fatalf("revoke-all: %d %s, want revoked 2", r.Status, r.Raw)
	}
	for _, p := range []pair{a, b} {
		if ok, refreshOK, _ := s.alive(t, p); ok || refreshOK {
			t.Errorf("after revoke-all: access ok %v, refresh ok %v; want both refused", ok, refreshOK)
		}
	}
}

// listAll pages through the listing with query q and returns every user
// id in order, failing on a page larger than size.
func listAll(t *testing.T, s *system, access string, q url.Values, size int) ([]string, []map[string]any) {
	t.Helper()
	var ids []string
	var users []map[string]any
	q.Set("page_size", strconv.Itoa(size))
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("the listing does not end")
		}
		r := call(t, http.MethodGet, adminURL(s, "?"+q.Encode()), access, nil, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("list %s: %d %s", q.Encode(), r.Status, r.Raw)
		}
		page, _ := r.Body["users"].([]any)
		if len(page) > size {
			t.Fatalf("a page of %d users, asked for %d", len(page), size)
		}
		for _, u := range page {
			m := u.(map[string]any)
			users = append(users, m)
			ids = append(ids, m["user_id"].(string))
		}
		next := r.str("next_page_token")
		if next == "" {
			return ids, users
		}
		q.Set("page_token", next)
	}
}

func TestAdminListingPagesAndFilters(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	_, admin := s.admin(t)
	prefix := "list-" + randomHex(4) + "-"
	var want []string
	for i := range 7 {
		id, _ := s.register(t, prefix+strconv.Itoa(i)+"@example.test", nil)
		want = append(want, id)
	}
	// The listing reads the replica: wait until it has them all.
	deadline := time.Now().Add(15 * time.Second)
	for {
		all, _ := listAll(t, s, admin.access, url.Values{"email_prefix": {prefix}}, 200)
		if len(all) == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the listing shows %d of the %d users after 15 s", len(all), len(want))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Pages of 3 (3, 3, 1) give every user once, in creation order; the
	// prefix is normalized like an address.
	ids, users := listAll(t, s, admin.access, url.Values{"email_prefix": {" " + strings.ToUpper(prefix)}}, 3)
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("paged listing = %v, want %v", ids, want)
	}
	// Time bounds are exclusive, RFC 3339.
	after, before := users[2]["created_at"].(string), users[5]["created_at"].(string)
	got, _ := listAll(t, s, admin.access, url.Values{"email_prefix": {prefix}, "created_after": {after}, "created_before": {before}}, 2)
	if strings.Join(got, ",") != strings.Join(want[3:5], ",") {
		t.Errorf("created in (%s, %s) = %v, want %v", after, before, got, want[3:5])
	}
	// A prefix's LIKE wildcards are literal.
	if got, _ := listAll(t, s, admin.access, url.Values{"email_prefix": {"list-%"}}, 50); len(got) != 0 {
		t.Errorf("email_prefix list-%% matched %d users, want none", len(got))
	}
	for _, bad := range []url.Values{{"page_size": {"201"}}, {"page_token": {"garbage"}}, {"email_prefix": {"   "}}} {
		if r := call(t, http.MethodGet, adminURL(s, "?"+bad.Encode()), admin.access, nil, nil); r.Status != http.StatusBadRequest {
			t.Errorf("list %s: %d %s, want 400", bad.Encode(), r.Status, r.Raw)
		}
	}
}
