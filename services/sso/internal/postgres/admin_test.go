package postgres_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/postgres"
	"github.com/ssokit/platform/services/sso/internal/user"
)

func TestListPagesByCreationAndFiltersByPrefix(t *testing.T) {
	primary, replica := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users := postgres.NewUsers(primary, replica, nil)
	prefix := strings.ToLower(strings.ReplaceAll(testenv.Name(t, "adm"), "_", "-")) + "-"
	base := time.Now().Truncate(time.Microsecond)
	var want []user.User
	for i := range 5 {
		u := newUser(t)
		u.Email = prefix + strconv.Itoa(i) + "@example.com"
		// Two share a creation time: the id orders them.
		u.CreatedAt = base.Add(time.Duration(i/2) * time.Millisecond)
		if err := users.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		want = append(want, u)
	}
	// List reads the replica, which replays a commit a moment after the
	// primary acknowledged it (synchronous_commit=on waits for the flush,
	// not the replay): wait until it has all five.
	if !testenv.Eventually(10*time.Second, 10*time.Millisecond, func() bool {
		var n int
		err := replica.GetContext(ctx, &n, "SELECT count(*) FROM users WHERE email LIKE $1", prefix+"%")
		return err == nil && n == len(want)
	}) {
		t.Fatal("the replica never had the five new users")
	}
	// In (created_at, id) order.
	for i := 0; i+1 < len(want); i += 2 {
		if want[i].ID > want[i+1].ID {
			want[i], want[i+1] = want[i+1], want[i]
		}
	}
	// A wildcard in the prefix is literal: "_" matches no "-".
	for _, p := range []string{strings.Replace(prefix, "-", "_", 1), prefix[:len(prefix)-1] + "%"} {
		got, err := users.List(ctx, auth.UserQuery{EmailPrefix: p, Limit: 10})
		if err != nil || len(got) != 0 {
			t.Errorf("List(prefix %q) = %d users, %v; want none", p, len(got), err)
		}
	}
	var got []string
	q := auth.UserQuery{EmailPrefix: prefix, Limit: 2}
	for range 10 {
		page, err := users.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			got = append(got, u.ID)
		}
		if len(page) < q.Limit {
			break
		}
		last := page[len(page)-1]
		q.After = &auth.PageKey{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	var ids []string
	for _, u := range want {
		ids = append(ids, u.ID)
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("pages = %v, want %v", got, ids)
	}
	mid, err := users.List(ctx, auth.UserQuery{EmailPrefix: prefix, CreatedAfter: base, CreatedBefore: base.Add(2 * time.Millisecond), Limit: 10})
	if err != nil || len(mid) != 2 || !mid[0].CreatedAt.Equal(base.Add(time.Millisecond)) {
		t.Errorf("created in (base, base+2ms) = %v, %v; want the two of base+1ms", mid, err)
	}

	// Disable, enable and the role, on the primary.
	id := want[0].ID
	if err := users.SetDisabled(ctx, id, true, audit.Anonymous()); err != nil {
		t.Fatal(err)
	}
	if u, _ := users.Current(ctx, id); !u.Disabled {
		t.Error("not disabled after SetDisabled(true)")
	}
	if err := users.SetDisabled(ctx, id, false, audit.Anonymous()); err != nil {
		t.Fatal(err)
	}
	if u, _ := users.Current(ctx, id); u.Disabled {
		t.Error("disabled after SetDisabled(false)")
	}
	for range 2 {
		gotID, unchanged, err := users.SetAdminByEmail(ctx, want[0].Email, true)
		if err != nil || gotID != id {
			t.Fatalf("SetAdminByEmail = %s, %v, %v", gotID, unchanged, err)
		}
	}
	if _, unchanged, _ := users.SetAdminByEmail(ctx, want[0].Email, true); !unchanged {
		t.Error("a second grant changed something")
	}
	if u, _ := users.Current(ctx, id); !u.IsAdmin {
		t.Error("not an admin after the grant")
	}
	if err := users.SetAdmin(ctx, id, false, audit.Anonymous()); err != nil {
		t.Fatal(err)
	}
	if u, _ := users.Current(ctx, id); u.IsAdmin {
		t.Error("an admin after SetAdmin(false)")
	}
	unknown := newID()
	for name, err := range map[string]error{
		"SetDisabled": users.SetDisabled(ctx, unknown, true, audit.Anonymous()),
		"SetAdmin":    users.SetAdmin(ctx, unknown, true, audit.Anonymous()),
	} {
		if !errors.Is(err, user.ErrNotFound) {
			t.Errorf("%s(unknown) = %v, want ErrNotFound", name, err)
		}
	}
	if _, _, err := users.SetAdminByEmail(ctx, "nobody-"+prefix+"@example.com", true); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("SetAdminByEmail(unknown) = %v, want ErrNotFound", err)
	}
}

// TestPrefixSearchUsesThePatternIndex checks that the prefix search can be
// served by each partition's text_pattern_ops index: with sequential scans
// priced out, the plan of the statement List sends reads the index.
func TestPrefixSearchUsesThePatternIndex(t *testing.T) {
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	tx, err := primary.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	var plan []string
	if err := tx.SelectContext(ctx, &plan, "EXPLAIN SELECT id FROM users u WHERE u.email LIKE $1 ORDER BY u.created_at, u.id LIMIT 51", "ada%"); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "email_idx") || !strings.Contains(text, "~>=~") {
		t.Errorf("the prefix search does not use the pattern index:\n%s", text)
	}
}
