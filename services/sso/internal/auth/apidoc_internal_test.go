package auth

import (
	"encoding/json"
	"testing"

	"github.com/ssokit/platform/libs/gen/openapi"
	"github.com/ssokit/platform/services/sso/internal/password"
)

// TestAPIDocumentStatesTheLimits keeps the limits the OpenAPI document
// states (set in proto/sso/v1) equal to those the use cases enforce.
func TestAPIDocumentStatesTheLimits(t *testing.T) {
	schema := func(def, field string) map[string]any {
		t.Helper()
		b, err := openapi.FS.ReadFile("sso.swagger.json")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Definitions map[string]struct {
				Properties map[string]map[string]any
			}
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Definitions[def].Properties[field]
	}
	tests := []struct {
		def, field, key string
		want            int
	}{
		{"RegisterRequest", "full_name", "maxLength", maxFullNameRunes},
		{"RegisterRequest", "password", "minLength", password.DefaultMinLength},
		{"RegisterRequest", "password", "maxLength", password.DefaultMaxLength},
		{"LoginRequest", "password", "maxLength", password.DefaultMaxLength},
		{"Session", "user_agent", "maxLength", maxUserAgentRunes},
	}
	for _, tt := range tests {
		if got, _ := schema(tt.def, tt.field)[tt.key].(float64); int(got) != tt.want {
			t.Errorf("%s.%s %s = %v in the document, want %d", tt.def, tt.field, tt.key, got, tt.want)
		}
	}
}
