package postgres_test

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/postgres"
)

var usersPartition = regexp.MustCompile(`^users_p[0-9]+$`)

// TestLookupsReadOnePartition runs EXPLAIN ANALYZE of the exact statements
// the adapter uses and checks that each reads only the partition of users
// that holds the user: by e-mail the planner prunes the others away; by id
// the executor does, once user_ids has given the e-mail.
func TestLookupsReadOnePartition(t *testing.T) {
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users := postgres.NewUsers(primary, nil, recordingEvent(nil), withKeys)
	u := newUser(t)
	if err := users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	for range 20 { // rows in the other partitions too
		if err := users.Create(ctx, newUser(t)); err != nil {
			t.Fatal(err)
		}
	}
	var home string
	if err := primary.GetContext(ctx, &home, "SELECT tableoid::regclass::text FROM users WHERE email = $1", u.Email); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		query string
		args  []any
		// planned: the plan itself names only the one partition.
		planned bool
	}{
		{"ByEmail", postgres.QueryByEmail, []any{u.Email}, true},
		{"ByID", postgres.QueryByID, []any{u.ID}, false},
		{"SetPasswordHash", postgres.UpdatePasswordHash, []any{u.ID, "new-hash"}, false},
	}
	// The adapter prepares its statements, so the server plans them with
	// the arguments (a custom plan) or, once it has run them a few times,
	// without (a generic plan); both must prune.
	for _, plan := range []string{"custom", "generic"} {
		for _, tt := range tests {
			t.Run(plan+"/"+tt.name, func(t *testing.T) {
				raw := explain(t, primary, plan, tt.query, tt.args)
				var plans []struct {
					Plan map[string]any `json:"Plan"`
				}
				if err := json.Unmarshal(raw, &plans); err != nil || len(plans) != 1 {
					t.Fatalf("EXPLAIN output %s: %v", raw, err)
				}
				listed, executed := map[string]bool{}, map[string]bool{}
				walk(plans[0].Plan, listed, executed)
				t.Logf("plan names %d users partitions, executes %d", len(listed), len(executed))

				if got := slices.Sorted(maps.Keys(executed)); len(got) != 1 || got[0] != home {
					t.Fatalf("partitions scanned = %v, want only %s\nplan: %s", got, home, raw)
				}
				if got := slices.Sorted(maps.Keys(listed)); tt.planned && (len(got) != 1 || got[0] != home) {
					t.Fatalf("partitions in the plan = %v, want only %s (pruned before execution)\nplan: %s", got, home, raw)
				}
			})
		}
	}
}

// explain returns EXPLAIN (ANALYZE, FORMAT JSON) of query run with args, in
// a transaction rolled back afterwards (ANALYZE executes it). A generic
// plan is forced through a server-side prepared statement.
func explain(t *testing.T, db *sqlx.DB, plan, query string, args []any) []byte {
	t.Helper()
	ctx := t.Context()
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var raw []byte
	if plan == "custom" {
		if err := tx.GetContext(ctx, &raw, "EXPLAIN (ANALYZE, FORMAT JSON) "+query, args...); err != nil {
			t.Fatal(err)
		}
		return raw
	}
	name := testenv.Name(t, "explain")
	literals := make([]string, len(args))
	for i, a := range args {
		literals[i] = pq.QuoteLiteral(a.(string))
	}
	steps := []string{
		"SET LOCAL plan_cache_mode = force_generic_plan",
		"PREPARE " + name + " AS " + query,
	}
	for _, step := range steps {
		if _, err := tx.ExecContext(ctx, step); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	// PREPARE is not transactional: the rollback would not undo it.
	defer func() { _, _ = tx.ExecContext(ctx, "DEALLOCATE "+name) }()
	if err := tx.GetContext(ctx, &raw, "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE "+name+"("+strings.Join(literals, ", ")+")"); err != nil {
		t.Fatal(err)
	}
	return raw
}

// walk records the users partitions a plan node and its children name, and
// those it actually executed.
func walk(node map[string]any, listed, executed map[string]bool) {
	if rel, _ := node["Relation Name"].(string); usersPartition.MatchString(rel) {
		listed[rel] = true
		if loops, _ := node["Actual Loops"].(float64); loops > 0 {
			executed[rel] = true
		}
	}
	children, _ := node["Plans"].([]any)
	for _, c := range children {
		if child, ok := c.(map[string]any); ok {
			walk(child, listed, executed)
		}
	}
}
