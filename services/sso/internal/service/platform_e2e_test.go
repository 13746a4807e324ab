package service_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/testenv"
)

// TestLoginRightAfterRegisterWhileReplicaLags pauses WAL replay on the
// replica, so it cannot have the new user, and expects register followed at
// once by login and GetMe to work: reads fall back to the primary.
func TestLoginRightAfterRegisterWhileReplicaLags(t *testing.T) {
	h := sso(t)
	ctx := testenv.Context(t, 30*time.Second)
	if _, err := h.replica.ExecContext(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatalf("pause replay: %v", err)
	}
	t.Cleanup(func() {
		if _, err := h.replica.Exec("SELECT pg_wal_replay_resume()"); err != nil {
			t.Errorf("resume replay: %v", err)
		}
	})
	if !testenv.Eventually(5*time.Second, 20*time.Millisecond, func() bool {
		var state string
		return h.replica.GetContext(ctx, &state, "SELECT pg_get_wal_replay_pause_state()") == nil && state == "paused"
	}) {
		t.Fatal("replica replay did not pause")
	}

	addr := email(t)
	reg := transports[0].register(t, h, addr, goodPassword)

	var onReplica int
	if err := h.replica.GetContext(ctx, &onReplica, "SELECT count(*) FROM users WHERE email = $1", addr); err != nil {
		t.Fatal(err)
	}
	if onReplica != 0 {
		t.Fatal("the replica already has the user: the test proves nothing")
	}
	for _, tr := range transports {
		if tok, code := tr.login(t, h, addr, goodPassword); code != http.StatusOK || tok.UserID != reg.UserID {
			t.Fatalf("%s login while replica lags: %d %+v", tr.name, code, tok)
		}
	}
	me := h.rest(t, http.MethodGet, "/v1/users/me", reg.Access, nil)
	if me.Status != http.StatusOK || me.str("email") != addr {
		t.Fatalf("me while replica lags: %d %s", me.Status, me.Raw)
	}
}

func TestSwaggerUIAndOpenAPI(t *testing.T) {
	h := sso(t)
	page := h.rest(t, http.MethodGet, "/swagger/", "", nil)
	if page.Status != http.StatusOK || !strings.Contains(page.Raw, "<html") {
		t.Fatalf("/swagger/: %d %.200s", page.Status, page.Raw)
	}
	resp, err := http.Get(h.baseURL + "/swagger/sso.swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var spec struct {
		Swagger string                    `json:"swagger"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&spec); err != nil {
		t.Fatal(err)
	}
	if spec.Swagger != "2.0" {
		t.Fatalf("swagger = %q, want 2.0", spec.Swagger)
	}
	for path, method := range map[string]string{
		"/v1/auth/register": "post", "/v1/auth/login": "post", "/v1/auth/refresh": "post",
		"/v1/auth/logout": "post", "/v1/auth/validate": "post",
		"/v1/users/me": "get", "/v1/users/{user_id}/admin": "get",
	} {
		if _, ok := spec.Paths[path][method]; !ok {
			t.Errorf("spec lacks %s %s", strings.ToUpper(method), path)
		}
	}
}

func TestHealthAndDiscovery(t *testing.T) {
	h := sso(t)
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusOK, "/no/such/path": http.StatusNotFound} {
		if r := h.rest(t, http.MethodGet, path, "", nil); r.Status != want {
			t.Errorf("GET %s: %d, want %d (%s)", path, r.Status, want, r.Raw)
		}
	}
	ready := h.rest(t, http.MethodGet, "/readyz", "", nil)
	checks, _ := ready.Body["checks"].(map[string]any)
	if checks["postgres-primary"] != "ok" || checks["redis"] != "ok" {
		t.Errorf("readyz checks = %v", checks)
	}

	ctx := testenv.Context(t, 10*time.Second)
	hc, err := healthpb.NewHealthClient(h.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("grpc health = %v, %v", hc, err)
	}

	stream, err := reflectionpb.NewServerReflectionClient(h.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{ssov1.AuthService_ServiceDesc.ServiceName, ssov1.UserService_ServiceDesc.ServiceName, "grpc.health.v1.Health"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}

	_, err = h.users.GetMe(ctx, &ssov1.GetMeRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("GetMe without a token: %v", err)
	}
}
