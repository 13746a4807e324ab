package ledger

import (
	"encoding/json"
	"testing"

	"github.com/ssokit/platform/libs/gen/openapi"
)

// TestAPIDocumentStatesTheLimits keeps the limits the OpenAPI document
// states (set in proto/loyalty/v1/loyalty.proto) equal to those Deposit and
// Withdraw enforce.
func TestAPIDocumentStatesTheLimits(t *testing.T) {
	b, err := openapi.FS.ReadFile("loyalty.swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Definitions map[string]struct {
			Properties map[string]map[string]any
			Required   []string
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, def := range []string{"DepositBody", "WithdrawBody"} {
		props := doc.Definitions[def].Properties
		checks := []struct {
			field, key string
			want       int
		}{
			{"reason", "maxLength", maxReasonRunes},
			{"idempotency_key", "maxLength", maxKeyRunes},
			{"idempotency_key", "minLength", 1},
		}
		for _, c := range checks {
			if got, _ := props[c.field][c.key].(float64); int(got) != c.want {
				t.Errorf("%s.%s %s = %v in the document, want %d", def, c.field, c.key, props[c.field][c.key], c.want)
			}
		}
		// Positive amounts only, as decimal strings (int64 in JSON).
		if got := props["amount"]["pattern"]; got != "^[1-9][0-9]{0,18}$" {
			t.Errorf("%s.amount pattern = %v", def, got)
		}
	}
}
