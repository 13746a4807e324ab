package e2e_test

import (
	"maps"
	"net/http"
	"net/url"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/testenv"
)

// traced returns a new trace id and the traceparent header that starts a
// request in it.
func traced() (string, map[string]string) {
	id := randomHex(16)
	return id, map[string]string{"traceparent": "00-" + id + "-" + randomHex(8) + "-01"}
}

// auditEvents lists the audit log over REST with query, as an
// administrator, every page.
func (s *system) auditEvents(t *testing.T, admin string, query url.Values) []map[string]any {
	t.Helper()
	query = maps.Clone(query) // the pages' tokens are this listing's own
	var out []map[string]any
	for page := 0; ; page++ {
		if page > 20 {
			t.Fatal("the audit listing does not end")
		}
		r := call(t, http.MethodGet, s.url("/v1/admin/audit?"+query.Encode()), admin, nil, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /v1/admin/audit?%s: %d %s", query.Encode(), r.Status, r.Raw)
		}
		events, _ := r.Body["events"].([]any)
		for _, e := range events {
			m, _ := e.(map[string]any)
			out = append(out, m)
		}
		next := r.str("next_page_token")
		if next == "" {
			return out
		}
		query.Set("page_token", next)
	}
}

func TestAuditLogRecordsAdminActionsAndSecurityEvents(t *testing.T) {
	t.Parallel()
	s := theSystem(t)
	adminID, admin := s.admin(t)
	targetEmail := "t-" + s.email(t)
	targetID, _ := s.register(t, targetEmail, nil)
	_, plain := s.register(t, "p-"+s.email(t), nil)

	// What each step should leave in the log: the action, who, and the
	// trace of the request that did it.
	type want struct {
		action, actor, actorKind, outcome, trace string
	}
	var wants []want
	adminStep := func(action, method, path string) {
		t.Helper()
		trace, h := traced()
		var body any
		if method == http.MethodPost {
			body = map[string]any{}
		}
		if r := call(t, method, adminURL(s, "/"+targetID+path), admin.access, body, h); r.Status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Raw)
		}
		wants = append(wants, want{action, adminID, "AUDIT_ACTOR_KIND_ADMIN", "AUDIT_OUTCOME_SUCCESS", trace})
	}
	adminStep("AUDIT_ACTION_ADMIN_USER_DISABLED", http.MethodPost, "/disable")
	adminStep("AUDIT_ACTION_ADMIN_USER_ENABLED", http.MethodPost, "/enable")
	adminStep("AUDIT_ACTION_ROLE_GRANTED", http.MethodPost, "/admin")
	adminStep("AUDIT_ACTION_ROLE_REVOKED", http.MethodDelete, "/admin")
	adminStep("AUDIT_ACTION_SESSIONS_REVOKED", http.MethodPost, "/sessions/revoke-all")

	// A refresh token presented again after its rotation.
	session := s.login(t, targetEmail)
	if r := call(t, http.MethodPost, s.url("/v1/auth/refresh"), "", map[string]string{"refresh_token": session.refresh}, nil); r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Raw)
	}
	reuseTrace, h := traced()
	if r := call(t, http.MethodPost, s.url("/v1/auth/refresh"), "", map[string]string{"refresh_token": session.refresh}, h); r.Status != http.StatusUnauthorized {
		t.Fatalf("replayed refresh token: %d %s, want 401", r.Status, r.Raw)
	}
	wants = append(wants, want{"AUDIT_ACTION_REFRESH_TOKEN_REUSE", "", "AUDIT_ACTOR_KIND_ANONYMOUS", "AUDIT_OUTCOME_REFUSED", reuseTrace})

	// Wrong passwords until the per-(account, address) limit trips; the
	// attempts after it are refused too, and recorded no more.
	burstTrace := ""
	refused := 0
	for i := 0; i < 12 && refused < 3; i++ {
		trace, h := traced()
		r := call(t, http.MethodPost, s.url("/v1/auth/login"), "", map[string]string{"email": targetEmail, "password": "not the password"}, h)
		switch r.Status {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			if refused == 0 {
				burstTrace = trace
			}
			refused++
		default:
			t.Fatalf("failed login: %d %s", r.Status, r.Raw)
		}
	}
	if refused < 3 {
		t.Fatal("the login failure limit never tripped")
	}
	wants = append(wants, want{"AUDIT_ACTION_LOGIN_FAILURE_BURST", "", "AUDIT_ACTOR_KIND_ANONYMOUS", "AUDIT_OUTCOME_REFUSED", burstTrace})

	adminStep("AUDIT_ACTION_USER_DELETED", http.MethodDelete, "")

	// The log is fed by the audit topic: the entries arrive a moment
	// later. The deleted user's entries stay (ids only).
	byUser := url.Values{"user_id": {targetID}, "page_size": {"3"}}
	var got []map[string]any
	if !testenv.Eventually(60*time.Second, 250*time.Millisecond, func() bool {
		got = s.auditEvents(t, admin.access, byUser)
		return len(got) >= len(wants)
	}) {
		var rows []struct {
			Status string `db:"status"`
			N      int    `db:"n"`
			Err    string `db:"err"`
		}
		_ = s.db(t, "sso").SelectContext(t.Context(), &rows, `SELECT status, count(*) AS n, COALESCE(max(last_error), '') AS err FROM outbox WHERE event_type = 'AuditEvent' GROUP BY status`)
		var stored int
		_ = s.db(t, "sso").GetContext(t.Context(), &stored, `SELECT count(*) FROM audit_events`)
		t.Logf("audit rows in the outbox: %+v; audit_events: %d", rows, stored)
		t.Fatalf("the audit log has %d entries of the user, want %d: %v\nsso log:\n%s", len(got), len(wants), got, s.logs("sso"))
	}
	if len(got) != len(wants) {
		t.Errorf("the audit log has %d entries of the user, want %d (one burst, not one per refusal): %v", len(got), len(wants), got)
	}
	byAction := map[string]map[string]any{}
	for i, e := range got {
		byAction[e["action"].(string)] = e
		if i > 0 && e["occurred_at"].(string) > got[i-1]["occurred_at"].(string) {
			t.Errorf("entry %d is newer than the one before it: not newest first", i)
		}
		for _, k := range []string{"email", "full_name"} {
			if _, ok := e[k]; ok {
				t.Errorf("an audit entry carries %s: %v", k, e)
			}
		}
	}
	for _, w := range wants {
		e, ok := byAction[w.action]
		if !ok {
			t.Errorf("no %s entry in %v", w.action, got)
			continue
		}
		str := func(k string) string { v, _ := e[k].(string); return v }
		if str("target_user_id") != targetID || str("actor_user_id") != w.actor || str("actor_kind") != w.actorKind ||
			str("outcome") != w.outcome || str("client_address") != "127.0.0.1" || str("trace_id") != w.trace || len(str("event_id")) != 36 {
			t.Errorf("%s entry = %v, want target %s, actor %q (%s), %s, from 127.0.0.1, trace %s", w.action, e, targetID, w.actor, w.actorKind, w.outcome, w.trace)
		}
	}

	// Filters: by actor and action; the raw user_id filter matches the
	// administrator as actor too.
	deletions := s.auditEvents(t, admin.access, url.Values{"actor_id": {adminID}, "action": {"AUDIT_ACTION_USER_DELETED"}})
	if len(deletions) != 1 || deletions[0]["target_user_id"] != targetID {
		t.Errorf("the administrator's deletions = %v, want the one of %s", deletions, targetID)
	}
	if byAdmin := s.auditEvents(t, admin.access, url.Values{"user_id": {adminID}}); len(byAdmin) < 6 {
		t.Errorf("user_id of the administrator matched %d entries, want at least its 6 actions", len(byAdmin))
	}
	if r := call(t, http.MethodGet, s.url("/v1/admin/audit?user_id=nope"), admin.access, nil, nil); r.Status != http.StatusBadRequest {
		t.Errorf("a user_id that is not a UUID: %d %s, want 400", r.Status, r.Raw)
	}

	// A non-administrator is refused before the request is looked at.
	for _, q := range []string{"", "?user_id=" + targetID, "?page_token=garbage"} {
		if r := call(t, http.MethodGet, s.url("/v1/admin/audit"+q), plain, nil, nil); r.Status != http.StatusForbidden {
			t.Errorf("GET /v1/admin/audit%s as a plain user: %d %s, want 403", q, r.Status, r.Raw)
		}
	}

	// The same log over gRPC.
	conn, err := grpc.NewClient(s.ssoGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := ssov1.NewAdminServiceClient(conn)
	ctx := metadata.AppendToOutgoingContext(testenv.Context(t, 30*time.Second), "authorization", "Bearer "+admin.access)
	resp, err := c.ListAuditEvents(ctx, &ssov1.ListAuditEventsRequest{UserId: targetID, Action: eventsv1.AuditAction_AUDIT_ACTION_REFRESH_TOKEN_REUSE})
	if err != nil || len(resp.GetEvents()) != 1 || resp.GetEvents()[0].GetTraceId() != reuseTrace {
		t.Errorf("ListAuditEvents over gRPC = %v, %v; want the reuse entry", resp, err)
	}
	plainCtx := metadata.AppendToOutgoingContext(testenv.Context(t, 30*time.Second), "authorization", "Bearer "+plain)
	if _, err := c.ListAuditEvents(plainCtx, &ssov1.ListAuditEventsRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("ListAuditEvents over gRPC as a plain user: %v, want PERMISSION_DENIED", err)
	}
}
