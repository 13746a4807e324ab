package e2e_test

import (
	"net/http"
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

// pair is one session's tokens.
type pair struct{ access, refresh string }

func tokens(t *testing.T, what string, r restResponse) pair {
	t.Helper()
	if r.Status != http.StatusOK || r.str("access_token") == "" || r.str("refresh_token") == "" {
		t.Fatalf("%s: %d %s", what, r.Status, r.Raw)
	}
	return pair{r.str("access_token"), r.str("refresh_token")}
}

// sessionsOf lists the sessions of access's bearer over REST.
func (s *system) sessionsOf(t *testing.T, access string) []map[string]any {
	t.Helper()
	r := call(t, http.MethodGet, "http://"+s.ssoHTTP+"/v1/users/me/sessions", access, nil, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list sessions: %d %s", r.Status, r.Raw)
	}
	raw, _ := r.Body["sessions"].([]any)
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i], _ = x.(map[string]any)
	}
	return out
}

// alive reports whether a session's tokens still work: its access token
// answers GET /v1/users/me and validates, and its refresh token rotates
// (the rotated pair is returned; the old refresh token is spent).
func (s *system) alive(t *testing.T, p pair) (accessOK, refreshOK bool, next pair) {
	t.Helper()
	sso := "http://" + s.ssoHTTP
	me := call(t, http.MethodGet, sso+"/v1/users/me", p.access, nil, nil)
	v := call(t, http.MethodPost, sso+"/v1/auth/validate", "", map[string]string{"token": p.access}, nil)
	valid, _ := v.Body["valid"].(bool)
	if (me.Status == http.StatusOK) != valid {
		t.Errorf("GET /v1/users/me answered %d while validate said valid=%v", me.Status, valid)
	}
	r := call(t, http.MethodPost, sso+"/v1/auth/refresh", "", map[string]string{"refresh_token": p.refresh}, nil)
	if r.Status == http.StatusOK {
		next = tokens(t, "refresh", r)
	} else if r.Status != http.StatusUnauthorized {
		t.Errorf("refresh: %d %s, want 200 or 401", r.Status, r.Raw)
	}
	return valid, r.Status == http.StatusOK, next
}

func TestSessions(t *testing.T) {
	s := theSystem(t)
	sso := "http://" + s.ssoHTTP
	email := s.email(t)
	const laptopUA, phoneUA = "Mozilla/5.0 (X11; Linux x86_64) e2e-laptop/1.0", "e2e-phone/2.0 (Android 15)"

	laptop := tokens(t, "register", call(t, http.MethodPost, sso+"/v1/auth/register", "",
		map[string]string{"email": email, "password": password}, map[string]string{"User-Agent": laptopUA}))
	phone := tokens(t, "login", call(t, http.MethodPost, sso+"/v1/auth/login", "",
		map[string]string{"email": email, "password": password}, map[string]string{"User-Agent": phoneUA}))

	// Both logins are listed with their user agents, newest first; the
	// phone asks, so its session is the current one.
	list := s.sessionsOf(t, phone.access)
	if len(list) != 2 {
		t.Fatalf("sessions = %v, want the 2 logins", list)
	}
	ids := map[string]string{}
	for i, want := range []struct {
		ua      string
		current bool
	}{{phoneUA, true}, {laptopUA, false}} {
		got := list[i]
		id, _ := got["id"].(string)
		current, _ := got["current"].(bool)
		if got["user_agent"] != want.ua || current != want.current || got["client_address"] != "127.0.0.1" || len(id) != 36 {
			t.Errorf("sessions[%d] = %v, want user_agent %q, current %v, client_address 127.0.0.1 and an id", i, got, want.ua, want.current)
		}
		created, err1 := time.Parse(time.RFC3339Nano, got["created_at"].(string))
		used, err2 := time.Parse(time.RFC3339Nano, got["last_used_at"].(string))
		if err1 != nil || err2 != nil || time.Since(created) > time.Minute || used.Before(created) {
			t.Errorf("sessions[%d] created_at %v, last_used_at %v: want a recent creation, last use not before it", i, got["created_at"], got["last_used_at"])
		}
		ids[want.ua] = id
	}

	// Another user can neither see nor end them, and its answer for an id
	// of Ada's is the answer for an id nobody has.
	other := tokens(t, "register other", call(t, http.MethodPost, sso+"/v1/auth/register", "",
		map[string]string{"email": "other-" + email, "password": password}, nil))
	if l := s.sessionsOf(t, other.access); len(l) != 1 || l[0]["current"] != true {
		t.Errorf("the other user's sessions = %v, want only its own", l)
	}
	foreign := call(t, http.MethodDelete, sso+"/v1/users/me/sessions/"+ids[laptopUA], other.access, nil, nil)
	unknown := call(t, http.MethodDelete, sso+"/v1/users/me/sessions/0b5a3c7e-9f1d-4e2a-8c6b-1d2e3f4a5b6c", other.access, nil, nil)
	malformed := call(t, http.MethodDelete, sso+"/v1/users/me/sessions/not-a-session", other.access, nil, nil)
	for name, r := range map[string]restResponse{"another user's id": foreign, "an unknown id": unknown, "a malformed id": malformed} {
		if r.Status != http.StatusNotFound || r.Raw != foreign.Raw {
			t.Errorf("DELETE %s: %d %s, want 404 with the same body as for another user's id (%s)", name, r.Status, r.Raw, foreign.Raw)
		}
	}
	if r := call(t, http.MethodDelete, sso+"/v1/users/me/sessions/"+ids[laptopUA], "", nil, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("DELETE without a token: %d %s, want 401", r.Status, r.Raw)
	}
	if len(s.sessionsOf(t, phone.access)) != 2 {
		t.Fatal("a refused DELETE ended a session")
	}

	// Ending the laptop's session from the phone kills the laptop's access
	// token at once (no waiting for its expiry) and its refresh token; the
	// phone goes on.
	if r := call(t, http.MethodDelete, sso+"/v1/users/me/sessions/"+ids[laptopUA], phone.access, nil, nil); r.Status != http.StatusOK {
		t.Fatalf("DELETE the laptop's session: %d %s", r.Status, r.Raw)
	}
	if accessOK, refreshOK, _ := s.alive(t, laptop); accessOK || refreshOK {
		t.Errorf("laptop after its session was deleted: access works %v, refresh works %v; want neither", accessOK, refreshOK)
	}
	accessOK, refreshOK, phone2 := s.alive(t, phone)
	if !accessOK || !refreshOK {
		t.Fatalf("phone after the laptop's session was deleted: access works %v, refresh works %v; want both", accessOK, refreshOK)
	}
	if r := call(t, http.MethodDelete, sso+"/v1/users/me/sessions/"+ids[laptopUA], phone2.access, nil, nil); r.Status != http.StatusNotFound {
		t.Errorf("DELETE an ended session again: %d %s, want 404", r.Status, r.Raw)
	}
	if l := s.sessionsOf(t, phone2.access); len(l) != 1 || l[0]["id"] != ids[phoneUA] || l[0]["current"] != true {
		t.Errorf("sessions after the delete = %v, want only the phone's, current", l)
	}

	// Over gRPC too, with the gRPC client's user agent.
	conn, err := grpc.NewClient(s.ssoGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUserAgent("e2e-grpc/3.0"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := testenv.Context(t, 30*time.Second)
	login, err := ssov1.NewAuthServiceClient(conn).Login(ctx, &ssov1.LoginRequest{Email: email, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	grpcSession := pair{login.GetAccessToken(), login.GetRefreshToken()}
	sessions := ssov1.NewSessionServiceClient(conn)
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+grpcSession.access)
	got, err := sessions.ListSessions(authed, &ssov1.ListSessionsRequest{})
	if err != nil || len(got.GetSessions()) != 2 || !got.GetSessions()[0].GetCurrent() ||
		!strings.HasPrefix(got.GetSessions()[0].GetUserAgent(), "e2e-grpc/3.0") {
		t.Errorf("ListSessions over gRPC = %v, %v; want the gRPC login first, current, with its user agent", got, err)
	}
	_, err = sessions.RevokeSession(authed, &ssov1.RevokeSessionRequest{SessionId: ids[laptopUA]})
	if status.Code(err) != codes.NotFound {
		t.Errorf("RevokeSession(ended) over gRPC: %v, want NOT_FOUND", err)
	}

	// Log out everywhere, from the phone: every session ends, the phone's
	// own included.
	r := call(t, http.MethodPost, sso+"/v1/users/me/sessions/revoke-all", phone2.access, map[string]any{}, nil)
	if n, _ := r.Body["revoked"].(float64); r.Status != http.StatusOK || n != 2 {
		t.Fatalf("revoke-all: %d %s, want 200 with revoked 2", r.Status, r.Raw)
	}
	for name, p := range map[string]pair{"phone": phone2, "gRPC login": grpcSession} {
		if accessOK, refreshOK, _ := s.alive(t, p); accessOK || refreshOK {
			t.Errorf("%s after revoke-all: access works %v, refresh works %v; want neither", name, accessOK, refreshOK)
		}
	}
	if r := call(t, http.MethodGet, sso+"/v1/users/me/sessions", phone2.access, nil, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("list with a token of an ended session: %d %s, want 401", r.Status, r.Raw)
	}
	// The other user was never touched, and Ada can log in again.
	if accessOK, refreshOK, _ := s.alive(t, other); !accessOK || !refreshOK {
		t.Errorf("the other user after Ada's revoke-all: access works %v, refresh works %v; want both", accessOK, refreshOK)
	}
	again := tokens(t, "login after revoke-all", call(t, http.MethodPost, sso+"/v1/auth/login", "",
		map[string]string{"email": email, "password": password}, nil))
	if l := s.sessionsOf(t, again.access); len(l) != 1 {
		t.Errorf("sessions after logging in again = %v, want the new one only", l)
	}
}
