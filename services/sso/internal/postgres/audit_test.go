package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/postgres"
	"github.com/ssokit/platform/services/sso/internal/user"
)

const auditTopic = "test-audit-events"

func TestAuditLogStoresOncePagesNewestFirstAndFilters(t *testing.T) {
	t.Parallel()
	primary, replica := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	// The primary, for assertions right after each write; the replica's
	// copy is checked once it has replayed them, at the end.
	log := postgres.NewAuditLog(primary, nil)

	admin, target, other := uuid.NewString(), uuid.NewString(), uuid.NewString()
	base := time.Now().UTC().Truncate(time.Microsecond).Add(-time.Hour)
	entry := func(i int, actor audit.Actor, action audit.Action, targetID string) audit.Entry {
		return audit.Entry{
			ID: uuid.NewString(), OccurredAt: base.Add(time.Duration(i) * time.Second), Actor: actor, Action: action,
			TargetID: targetID, ClientAddress: "192.0.2.7", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Outcome: audit.OutcomeSuccess,
		}
	}
	var all []audit.Entry
	for i := range 7 {
		all = append(all, entry(i, audit.Admin(admin), audit.ActionUserDisabled, target))
	}
	// Two entries at the same instant: the id breaks the tie, so paging
	// neither skips nor repeats one.
	tie := entry(3, audit.Self(target), audit.ActionPasswordChanged, target)
	all = append(all, tie,
		entry(8, audit.Admin(target), audit.ActionRoleRevoked, other), // target acting: found by user_id
		entry(9, audit.Anonymous(), audit.ActionLoginFailureBurst, ""),
	)
	for _, e := range all {
		stored, err := log.Insert(ctx, e)
		if err != nil || !stored {
			t.Fatalf("Insert(%s) = %v, %v; want stored", e.Action, stored, err)
		}
	}
	if stored, err := log.Insert(ctx, all[0]); err != nil || stored {
		t.Fatalf("Insert of a redelivered event = %v, %v; want not stored again", stored, err)
	}

	// user_id matches the target or the actor; pages of 3, newest first.
	var got []audit.Entry
	q := audit.Query{UserID: target, Limit: 3}
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("paging does not end")
		}
		entries, err := log.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entries...)
		if len(entries) < q.Limit {
			break
		}
		last := entries[len(entries)-1]
		q.Before = &audit.Key{OccurredAt: last.OccurredAt, ID: last.ID}
	}
	if len(got) != 9 {
		t.Fatalf("user_id listing has %d entries, want 9 (7 disables, a change and a role revoked by the user)", len(got))
	}
	seen := map[string]bool{}
	for i, e := range got {
		if seen[e.ID] {
			t.Errorf("entry %s listed twice", e.ID)
		}
		seen[e.ID] = true
		if i > 0 && (e.OccurredAt.After(got[i-1].OccurredAt) || e.OccurredAt.Equal(got[i-1].OccurredAt) && e.ID > got[i-1].ID) {
			t.Errorf("entry %d (%s) is not older than the one before it", i, e.OccurredAt)
		}
	}
	if got[0].Action != audit.ActionRoleRevoked || got[0].Actor != audit.Admin(target) || got[0].TargetID != other {
		t.Errorf("newest entry = %+v, want the role revoked by the user", got[0])
	}
	want := all[0]
	if e := got[len(got)-1]; e != want {
		t.Errorf("oldest entry read back = %+v, want %+v", e, want)
	}

	for name, c := range map[string]struct {
		q    audit.Query
		want int
	}{
		"actor":             {audit.Query{ActorID: admin, Limit: 50}, 7},
		"actor and action":  {audit.Query{ActorID: target, Action: audit.ActionRoleRevoked, Limit: 50}, 1},
		"user and action":   {audit.Query{UserID: target, Action: audit.ActionPasswordChanged, Limit: 50}, 1},
		"user, other":       {audit.Query{UserID: other, Limit: 50}, 1},
		"action, no target": {audit.Query{UserID: admin, Action: audit.ActionLoginFailureBurst, Limit: 50}, 0},
	} {
		entries, err := log.List(ctx, c.q)
		if err != nil || len(entries) != c.want {
			t.Errorf("%s: List = %d entries, %v; want %d", name, len(entries), err, c.want)
		}
	}

	// An anonymous entry keeps its empty ids.
	burst := all[len(all)-1]
	var n int
	if err := primary.GetContext(ctx, &n, `SELECT count(*) FROM audit_events
		WHERE event_id = $1 AND actor_user_id IS NULL AND target_user_id IS NULL AND actor_kind = 'anonymous'`, burst.ID); err != nil || n != 1 {
		t.Errorf("anonymous entry stored with ids = %d, %v", n, err)
	}

	// Retention: only entries older than the bound go.
	if _, err := log.Insert(ctx, audit.Entry{ID: uuid.NewString(), OccurredAt: time.Now().Add(-500 * 24 * time.Hour),
		Actor: audit.Admin(admin), Action: audit.ActionUserDeleted, TargetID: target, Outcome: audit.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	if _, err := log.Prune(ctx, time.Now().Add(-400*24*time.Hour), 1000); err != nil {
		t.Fatal(err)
	}
	if entries, _ := log.List(ctx, audit.Query{UserID: target, Action: audit.ActionUserDeleted, Limit: 10}); len(entries) != 0 {
		t.Errorf("an entry past retention survived the prune: %+v", entries)
	}
	if entries, _ := log.List(ctx, audit.Query{UserID: target, Limit: 50}); len(entries) != 9 {
		t.Errorf("after the prune %d entries of the user are left, want 9", len(entries))
	}

	// The listing reads the replica when it has one.
	fromReplica := postgres.NewAuditLog(primary, replica)
	if !testenv.Eventually(10*time.Second, 50*time.Millisecond, func() bool {
		entries, err := fromReplica.List(ctx, audit.Query{UserID: target, Limit: 50})
		return err == nil && len(entries) == 9
	}) {
		t.Error("the replica never listed the user's 9 entries")
	}

	if _, err := log.Insert(ctx, audit.Entry{ID: "not-a-uuid", OccurredAt: base, Action: audit.ActionUserDeleted}); err == nil {
		t.Error("Insert accepted an id that is not a UUID")
	}
}

// auditRows returns the audit events in the outbox whose target is id, as
// the relay would publish them.
func auditRows(t *testing.T, db *sqlx.DB, id string) []*eventsv1.AuditEvent {
	t.Helper()
	var rows []struct {
		Payload []byte `db:"payload"`
		Topic   string `db:"topic"`
		Key     string `db:"msg_key"`
	}
	if err := db.SelectContext(t.Context(), &rows, `SELECT payload, topic, msg_key FROM outbox
		WHERE event_type = $1 AND msg_key = $2 ORDER BY created_at`, outbox.EventAudit, id); err != nil {
		t.Fatal(err)
	}
	var out []*eventsv1.AuditEvent
	for _, r := range rows {
		ev := &eventsv1.AuditEvent{}
		if err := proto.Unmarshal(r.Payload, ev); err != nil {
			t.Fatal(err)
		}
		if r.Topic != auditTopic {
			t.Errorf("audit row on topic %q, want %q", r.Topic, auditTopic)
		}
		out = append(out, ev)
	}
	return out
}

func TestChangesWriteTheirAuditEntriesInTheirTransactions(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users, committed := accounts(t, primary, testRing(t), postgres.WithAuditEvents(outbox.AuditEvents(auditTopic)))
	u := newUser(t)
	if err := users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	admin := uuid.NewString()

	if err := users.SetDisabled(ctx, u.ID, true, audit.Admin(admin)); err != nil {
		t.Fatal(err)
	}
	if err := users.SetAdmin(ctx, u.ID, true, audit.Admin(admin)); err != nil {
		t.Fatal(err)
	}
	if err := users.ChangePassword(ctx, u.ID, u.PasswordHash, "new-hash"); err != nil {
		t.Fatal(err)
	}
	// A change that finds nothing writes no entry: it is rolled back with
	// the change.
	if err := users.ChangePassword(ctx, u.ID, "stale-hash", "x"); !errors.Is(err, user.ErrNotFound) {
		t.Fatalf("ChangePassword with a stale hash: %v", err)
	}
	if err := users.SetDisabled(ctx, uuid.NewString(), true, audit.Admin(admin)); !errors.Is(err, user.ErrNotFound) {
		t.Fatalf("SetDisabled of an unknown id: %v", err)
	}
	if err := users.Delete(ctx, u.ID, audit.Admin(admin)); err != nil {
		t.Fatal(err)
	}

	// The deletion removed the user's account events but none of its
	// audit entries, which carry no personal data.
	got := auditRows(t, primary, u.ID)
	wantActions := []eventsv1.AuditAction{
		eventsv1.AuditAction_AUDIT_ACTION_ADMIN_USER_DISABLED, eventsv1.AuditAction_AUDIT_ACTION_ROLE_GRANTED,
		eventsv1.AuditAction_AUDIT_ACTION_PASSWORD_CHANGED, eventsv1.AuditAction_AUDIT_ACTION_USER_DELETED,
	}
	if len(got) != len(wantActions) {
		t.Fatalf("%d audit rows for the user, want %d: %v", len(got), len(wantActions), got)
	}
	for i, ev := range got {
		if ev.GetAction() != wantActions[i] || ev.GetTargetUserId() != u.ID || ev.GetOutcome() != eventsv1.AuditOutcome_AUDIT_OUTCOME_SUCCESS {
			t.Errorf("audit row %d = %v, want %v of %s", i, ev, wantActions[i], u.ID)
		}
		wantActor, wantKind := admin, eventsv1.AuditActorKind_AUDIT_ACTOR_KIND_ADMIN
		if ev.GetAction() == eventsv1.AuditAction_AUDIT_ACTION_PASSWORD_CHANGED {
			wantActor, wantKind = u.ID, eventsv1.AuditActorKind_AUDIT_ACTOR_KIND_USER
		}
		if ev.GetActorUserId() != wantActor || ev.GetActorKind() != wantKind {
			t.Errorf("audit row %d actor = %s (%v), want %s (%v)", i, ev.GetActorUserId(), ev.GetActorKind(), wantActor, wantKind)
		}
	}
	// Each was handed to the relay after its commit.
	published := 0
	for _, r := range committed() {
		if r.EventType == outbox.EventAudit && r.Key == u.ID {
			published++
		}
	}
	if published != len(wantActions) {
		t.Errorf("%d audit records handed to the relay, want %d", published, len(wantActions))
	}
	// No row of the outbox names the deleted user's address, audit rows
	// included.
	if found := rowsContaining(t, primary, u.Email); len(found) != 0 {
		t.Errorf("the deleted user's e-mail is still in %v", found)
	}

	// An event that changes no row is recorded on its own.
	if err := users.Record(ctx, audit.Entry{Actor: audit.Anonymous(), Action: audit.ActionRefreshTokenReuse, TargetID: u.ID, Outcome: audit.OutcomeRefused}); err != nil {
		t.Fatal(err)
	}
	got = auditRows(t, primary, u.ID)
	if last := got[len(got)-1]; last.GetAction() != eventsv1.AuditAction_AUDIT_ACTION_REFRESH_TOKEN_REUSE || last.GetActorKind() != eventsv1.AuditActorKind_AUDIT_ACTOR_KIND_ANONYMOUS ||
		last.GetOutcome() != eventsv1.AuditOutcome_AUDIT_OUTCOME_REFUSED {
		t.Errorf("recorded entry = %v", last)
	}
}

func TestAdminCommandRecordsRoleChangesAsTheSystem(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users, _ := accounts(t, primary, testRing(t), postgres.WithAuditEvents(outbox.AuditEvents(auditTopic)))
	u := newUser(t)
	if err := users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second grant changes nothing and records nothing
		if _, _, err := users.SetAdminByEmail(ctx, u.Email, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := users.SetAdminByEmail(ctx, u.Email, false); err != nil {
		t.Fatal(err)
	}
	got := auditRows(t, primary, u.ID)
	if len(got) != 2 {
		t.Fatalf("%d audit rows, want a grant and a revocation: %v", len(got), got)
	}
	for i, want := range []eventsv1.AuditAction{eventsv1.AuditAction_AUDIT_ACTION_ROLE_GRANTED, eventsv1.AuditAction_AUDIT_ACTION_ROLE_REVOKED} {
		if ev := got[i]; ev.GetAction() != want || ev.GetActorKind() != eventsv1.AuditActorKind_AUDIT_ACTOR_KIND_SYSTEM || ev.GetActorUserId() != "" || ev.GetTargetUserId() != u.ID {
			t.Errorf("row %d = %v, want %v by the system on %s", i, ev, want, u.ID)
		}
	}
}
