package postgres_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// rowsContaining counts, in every table of the database, the rows one of
// whose text or bytea columns contains s: a whole-database search for a
// piece of personal data.
func rowsContaining(t *testing.T, db *sqlx.DB, s string) map[string]int {
	t.Helper()
	ctx := t.Context()
	var cols []struct {
		Table  string `db:"table_name"`
		Column string `db:"column_name"`
		Type   string `db:"data_type"`
	}
	if err := db.SelectContext(ctx, &cols, `SELECT c.table_name, c.column_name, c.data_type
		FROM information_schema.columns c JOIN information_schema.tables t
			ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
			AND c.data_type IN ('text', 'character varying', 'bytea', 'jsonb', 'json')`); err != nil {
		t.Fatal(err)
	}
	if len(cols) == 0 {
		t.Fatal("no text columns found: the scan would prove nothing")
	}
	found := map[string]int{}
	for _, c := range cols {
		expr := fmt.Sprintf("position($1 in %q::text) > 0", c.Column)
		if c.Type == "bytea" {
			expr = fmt.Sprintf("position(convert_to($1, 'UTF8') in %q) > 0", c.Column)
		}
		var n int
		if err := db.GetContext(ctx, &n, fmt.Sprintf("SELECT count(*) FROM %q WHERE %s", c.Table, expr), s); err != nil {
			t.Fatalf("scan %s.%s: %v", c.Table, c.Column, err)
		}
		if n > 0 {
			found[c.Table+"."+c.Column] += n
		}
	}
	return found
}

func TestDeleteLeavesNoPersonalDataAndStoresUserDeleted(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users, committed := accounts(t, primary, testRing(t))

	u := newUser(t)
	u.FullName = "Erasable Person " + u.ID[:8]
	if err := users.CreateWithToken(ctx, u, newToken(t, user.PurposeEmailVerification, time.Hour)); err != nil {
		t.Fatal(err)
	}
	reset := newToken(t, user.PurposePasswordReset, time.Hour)
	reset.UserID = u.ID
	if err := users.IssueToken(ctx, u, reset); err != nil {
		t.Fatal(err)
	}
	// One event delivered, the others still waiting: both kinds go.
	if _, err := primary.ExecContext(ctx, "UPDATE outbox SET status = 'successful' WHERE id = $1", committed()[0].ID); err != nil {
		t.Fatal(err)
	}
	other := newUser(t)
	if err := users.CreateWithToken(ctx, other, newToken(t, user.PurposeEmailVerification, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := rowsContaining(t, primary, u.Email); len(got) == 0 {
		t.Fatal("the scan finds nothing before the deletion: it cannot tell an erasure")
	}

	if err := users.Delete(ctx, u.ID, audit.Self(u.ID)); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{u.Email, u.FullName} {
		if got := rowsContaining(t, primary, s); len(got) != 0 {
			t.Errorf("after Delete, %q is still in %v", s, got)
		}
	}
	if n := count(t, primary, "SELECT count(*) FROM one_time_tokens WHERE user_id = $1", u.ID); n != 0 {
		t.Errorf("%d one-time tokens left", n)
	}
	if _, err := users.Current(ctx, u.ID); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("Current after Delete = %v, want ErrNotFound", err)
	}
	if _, err := users.CurrentByEmail(ctx, u.Email); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("CurrentByEmail after Delete = %v, want ErrNotFound", err)
	}
	// Left: the one UserDeleted event, naming only the id.
	var ids []string
	if err := primary.SelectContext(ctx, &ids, "SELECT id FROM outbox WHERE aggregate_id = $1", u.ID); err != nil {
		t.Fatal(err)
	}
	recs := committed()
	last := recs[len(recs)-1]
	if len(ids) != 1 || ids[0] != last.ID || last.EventType != string(user.EventUserDeleted) {
		t.Fatalf("outbox rows of the user %v, last committed %+v: want only its UserDeleted", ids, last)
	}
	kind, ev, payload := storedEvent(t, primary, last.ID)
	if kind != string(user.EventUserDeleted) || ev.GetUserDeleted() == nil || ev.GetUserId() != u.ID {
		t.Fatalf("stored %s %+v, want UserDeleted of %s", kind, ev, u.ID)
	}
	if bytes.Contains(payload, []byte(u.Email)) {
		t.Fatal("the UserDeleted payload carries the address")
	}
	// The other user is untouched.
	if _, err := users.Current(ctx, other.ID); err != nil {
		t.Fatalf("another user after Delete: %v", err)
	}
	if n := count(t, primary, "SELECT count(*) FROM outbox WHERE aggregate_id = $1", other.ID); n != 2 {
		t.Fatalf("another user's events: %d rows, want 2", n)
	}

	// Twice: nothing to delete, nothing written.
	if err := users.Delete(ctx, u.ID, audit.Self(u.ID)); !errors.Is(err, user.ErrNotFound) {
		t.Fatalf("second Delete = %v, want ErrNotFound", err)
	}
	if n := count(t, primary, "SELECT count(*) FROM outbox WHERE aggregate_id = $1", u.ID); n != 1 {
		t.Fatalf("%d rows after a second Delete, want 1", n)
	}
	// The address is free again, for a new user.
	again := newUser(t)
	again.Email = u.Email
	if err := users.CreateWithToken(ctx, again, newToken(t, user.PurposeEmailVerification, time.Hour)); err != nil {
		t.Fatalf("register the deleted address again: %v", err)
	}
}
