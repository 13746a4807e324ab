package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
)

// entriesOf returns the audit entries of action.
func (f *fixture) entriesOf(action audit.Action) []audit.Entry {
	var out []audit.Entry
	for _, e := range f.audit.Entries() {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func TestAdminActionsAreAudited(t *testing.T) {
	f, admin, plain := adminFixture(t)
	ctx := context.Background()
	steps := []struct {
		action audit.Action
		do     func() error
	}{
		{audit.ActionUserDisabled, func() error { _, err := f.svc.DisableUser(ctx, admin.AccessToken, plain.UserID); return err }},
		{audit.ActionUserEnabled, func() error { _, err := f.svc.EnableUser(ctx, admin.AccessToken, plain.UserID); return err }},
		{audit.ActionRoleGranted, func() error { _, err := f.svc.SetAdminRole(ctx, admin.AccessToken, plain.UserID, true); return err }},
		{audit.ActionRoleRevoked, func() error { _, err := f.svc.SetAdminRole(ctx, admin.AccessToken, plain.UserID, false); return err }},
		{audit.ActionSessionsRevoked, func() error { _, err := f.svc.EndUserSessionsAsAdmin(ctx, admin.AccessToken, plain.UserID); return err }},
		{audit.ActionUserDeleted, func() error { return f.svc.DeleteUserAsAdmin(ctx, admin.AccessToken, plain.UserID) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.action, err)
		}
		got := f.entriesOf(s.action)
		if len(got) != 1 {
			t.Fatalf("%s: %d entries, want 1", s.action, len(got))
		}
		if e := got[0]; e.Actor != audit.Admin(admin.UserID) || e.TargetID != plain.UserID || e.Outcome != audit.OutcomeSuccess {
			t.Errorf("%s entry = %+v, want by %s on %s", s.action, e, admin.UserID, plain.UserID)
		}
	}
	// Refused calls change nothing and record nothing.
	before := len(f.audit.Entries())
	if _, err := f.svc.DisableUser(ctx, admin.AccessToken, admin.UserID); !errors.Is(err, auth.ErrSelfAdmin) {
		t.Fatalf("disabling oneself: %v", err)
	}
	if _, err := f.svc.EndUserSessionsAsAdmin(ctx, admin.AccessToken, uuid.NewString()); err == nil {
		t.Fatal("ending the sessions of an unknown id succeeded")
	}
	if n := len(f.audit.Entries()); n != before {
		t.Errorf("refused calls recorded %d entries", n-before)
	}
}

func TestOwnDeletionAndPasswordChangesAreAuditedAsTheUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg := f.register(t, "ada@example.com", "correct horse")
	fresh, err := f.svc.ChangePassword(ctx, auth.PasswordChange{AccessToken: reg.AccessToken, CurrentPassword: "correct horse", NewPassword: "battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteAccount(ctx, auth.AccountDeletion{AccessToken: fresh.AccessToken, Password: "battery staple"}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []audit.Action{audit.ActionPasswordChanged, audit.ActionUserDeleted} {
		got := f.entriesOf(a)
		if len(got) != 1 || got[0].Actor != audit.Self(reg.UserID) || got[0].TargetID != reg.UserID {
			t.Errorf("%s entries = %+v, want one by the user on itself", a, got)
		}
	}
}

func TestRefreshTokenReuseIsAuditedOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg := f.register(t, "ada@example.com", "correct horse")
	if _, err := f.svc.Refresh(ctx, reg.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Refresh(ctx, reg.RefreshToken); !errors.Is(err, auth.ErrRefreshReused) {
		t.Fatalf("replay: %v, want ErrRefreshReused", err)
	}
	// The family is gone: a third presentation is no longer reuse news.
	_, _ = f.svc.Refresh(ctx, reg.RefreshToken)
	got := f.entriesOf(audit.ActionRefreshTokenReuse)
	if len(got) != 1 {
		t.Fatalf("%d reuse entries, want 1", len(got))
	}
	if e := got[0]; e.Actor != audit.Anonymous() || e.TargetID != reg.UserID || e.Outcome != audit.OutcomeRefused {
		t.Errorf("reuse entry = %+v", e)
	}
}

func TestLoginFailureBurstIsAuditedOncePerLimitAndWindow(t *testing.T) {
	f := newFixture(t)
	reg := f.register(t, "ada@example.com", "correct horse")
	// The per-(account, address) limit trips after 3 failures; every
	// attempt after that is refused, and only the first refusal is news.
	for range testLimits.LoginAccountAddress + 5 {
		_ = f.login("ada@example.com", "wrong password", "192.0.2.1")
	}
	got := f.entriesOf(audit.ActionLoginFailureBurst)
	if len(got) != 1 {
		t.Fatalf("%d burst entries after one limit tripped, want 1", len(got))
	}
	if e := got[0]; e.Actor != audit.Anonymous() || e.TargetID != reg.UserID || e.ClientAddress != "192.0.2.1" || e.Outcome != audit.OutcomeRefused {
		t.Errorf("burst entry = %+v, want the account from 192.0.2.1", e)
	}
	// A burst against an address nobody registered names no account, and
	// the entry never holds the address tried.
	for range testLimits.LoginAccountAddress + 2 {
		_ = f.login("nobody@example.com", "wrong password", "192.0.2.2")
	}
	got = f.entriesOf(audit.ActionLoginFailureBurst)
	if len(got) != 2 || got[1].TargetID != "" || got[1].ClientAddress != "192.0.2.2" {
		t.Errorf("burst entries = %+v, want a second without a target", got)
	}
	// Successful logins record nothing.
	before := len(f.audit.Entries())
	if err := f.login("ada@example.com", "correct horse", "192.0.2.3"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.audit.Entries()); n != before {
		t.Errorf("a successful login recorded %d entries", n-before)
	}
}

func TestListAuditEventsRefusesNonAdministratorsFirstAndPages(t *testing.T) {
	f, admin, plain := adminFixture(t)
	ctx := context.Background()
	bad := auth.AuditRequest{PageToken: "garbage", UserID: "nope"}
	if _, err := f.svc.ListAuditEvents(ctx, plain.AccessToken, bad); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("a plain user: %v, want ErrForbidden before the request is read", err)
	}
	if _, err := f.svc.ListAuditEvents(ctx, "", bad); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("no token: %v, want ErrUnauthenticated", err)
	}
	for name, r := range map[string]auth.AuditRequest{
		"page_size":  {PageSize: auth.MaxPageSize + 1},
		"user_id":    {UserID: "nope"},
		"actor_id":   {ActorID: "{" + uuid.NewString() + "}"},
		"page_token": {PageToken: "garbage"},
	} {
		var inv *auth.InvalidArgumentError
		if _, err := f.svc.ListAuditEvents(ctx, admin.AccessToken, r); !errors.As(err, &inv) || inv.Field != name {
			t.Errorf("bad %s: %v, want invalid %s", name, err, name)
		}
	}

	for range 5 {
		if _, err := f.svc.EndUserSessionsAsAdmin(ctx, admin.AccessToken, plain.UserID); err != nil {
			t.Fatal(err)
		}
	}
	var got []audit.Entry
	req := auth.AuditRequest{PageSize: 2, UserID: plain.UserID, Action: audit.ActionSessionsRevoked}
	for {
		page, err := f.svc.ListAuditEvents(ctx, admin.AccessToken, req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Entries...)
		if page.NextPageToken == "" {
			break
		}
		req.PageToken = page.NextPageToken
	}
	if len(got) != 5 {
		t.Fatalf("paged through %d entries, want 5", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].OccurredAt.After(got[i-1].OccurredAt) || got[i].ID == got[i-1].ID {
			t.Errorf("entries %d and %d out of order or repeated", i-1, i)
		}
	}
	byActor, err := f.svc.ListAuditEvents(ctx, admin.AccessToken, auth.AuditRequest{ActorID: admin.UserID})
	if err != nil || len(byActor.Entries) != 5 {
		t.Errorf("by actor: %d entries, %v; want 5", len(byActor.Entries), err)
	}
}

func TestWrongPasswordsOfAPasswordChangeTripTheSameBurstRecord(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg := f.register(t, "ada@example.com", "correct horse")
	for range testLimits.LoginAccountAddress + 3 {
		_, _ = f.svc.ChangePassword(ctx, auth.PasswordChange{AccessToken: reg.AccessToken, CurrentPassword: "wrong one!", NewPassword: "battery staple", ClientIP: "192.0.2.4"})
	}
	got := f.entriesOf(audit.ActionLoginFailureBurst)
	if len(got) != 1 || got[0].TargetID != reg.UserID || got[0].ClientAddress != "192.0.2.4" {
		t.Errorf("burst entries = %+v, want one on the account from 192.0.2.4", got)
	}
}
