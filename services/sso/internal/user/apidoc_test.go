package user

import (
	"encoding/json"
	"testing"

	"github.com/ssokit/platform/libs/gen/openapi"
)

// TestAPIDocumentStatesTheEmailLimit keeps the e-mail length the OpenAPI
// document states (set in proto/sso/v1/auth.proto) equal to the one
// NormalizeEmail enforces.
func TestAPIDocumentStatesTheEmailLimit(t *testing.T) {
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
	for _, def := range []string{"RegisterRequest", "LoginRequest"} {
		email := doc.Definitions[def].Properties["email"]
		if got, _ := email["maxLength"].(float64); int(got) != maxEmailLen || email["format"] != "email" {
			t.Errorf("%s.email = %v in the document, want format email and maxLength %d", def, email, maxEmailLen)
		}
	}
}
