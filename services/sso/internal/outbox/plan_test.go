package outbox_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/outbox"
)

// TestClaimReadsOnlyWhatItTakes runs EXPLAIN ANALYZE of the sweeper's claim
// over a table of mostly delivered rows and a backlog of due ones: each
// kind of due row is read in order from its partial index, and no scan of
// outbox returns more rows than the batch, so a claim's cost follows its
// batch, not the size of the outbox or of the backlog.
func TestClaimReadsOnlyWhatItTakes(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	fill(t, db, "successful", 20_000)
	fill(t, db, "failed", 1_000)
	fill(t, db, "inProgress", 1_000)
	ctx := testenv.Context(t, 30*time.Second)
	const batch = 100

	tests := []struct {
		name string
		// prepare runs in the transaction before the claim.
		prepare string
		// readsFrom: the indexes the executed scans must use.
		readsFrom []string
	}{
		{"stale rows fill the batch", "", []string{"outbox_pending_idx"}},
		{"a few stale rows, then due failed ones",
			"UPDATE outbox SET updated_at = now() WHERE status = 'inProgress' AND id NOT IN (SELECT id FROM outbox WHERE status = 'inProgress' LIMIT 5)",
			[]string{"outbox_pending_idx", "outbox_retry_due_idx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := db.BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback() // ANALYZE executes the claim
			if tt.prepare != "" {
				if _, err := tx.ExecContext(ctx, tt.prepare); err != nil {
					t.Fatal(err)
				}
			}
			// Stale after 1000s: the seeded rows are an hour old.
			query := strings.NewReplacer("$1", "1000000000", "$2", strconv.Itoa(batch)).Replace(outbox.ClaimDue)
			var raw []byte
			if err := tx.GetContext(ctx, &raw, "EXPLAIN (ANALYZE, FORMAT JSON) "+query); err != nil {
				t.Fatal(err)
			}
			var plans []struct {
				Plan map[string]any `json:"Plan"`
			}
			if err := json.Unmarshal(raw, &plans); err != nil || len(plans) != 1 {
				t.Fatalf("EXPLAIN output %s: %v", raw, err)
			}
			if got, _ := plans[0].Plan["Actual Rows"].(float64); got != batch {
				t.Errorf("claimed %v rows, want %d", got, batch)
			}
			used := map[string]bool{}
			walkPlan(plans[0].Plan, func(node map[string]any) {
				typ, _ := node["Node Type"].(string)
				rel, _ := node["Relation Name"].(string)
				rows, _ := node["Actual Rows"].(float64)
				loops, _ := node["Actual Loops"].(float64)
				if rel == "outbox" && typ != "ModifyTable" && rows*loops > batch {
					t.Errorf("%s on outbox returned %v rows for a batch of %d:\n%s", typ, rows*loops, batch, raw)
				}
				if idx, _ := node["Index Name"].(string); loops > 0 && idx != "" {
					used[idx] = true
				}
			})
			for _, idx := range tt.readsFrom {
				if !used[idx] {
					t.Errorf("plan does not read %s (it reads %v)", idx, used)
				}
			}
		})
	}
}

func walkPlan(node map[string]any, visit func(map[string]any)) {
	visit(node)
	children, _ := node["Plans"].([]any)
	for _, c := range children {
		if child, ok := c.(map[string]any); ok {
			walkPlan(child, visit)
		}
	}
}
