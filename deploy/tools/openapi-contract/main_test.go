package main

import (
	"bytes"
	"reflect"
	"testing"
)

func TestAddCommonResponses(t *testing.T) {
	const doc = `{
  "paths": {
    "/v1/admin/users/{user_id}/disable": {
      "post": {"responses": {"404": {"description": "no such user"}}, "security": [{"bearer": []}]}
    },
    "/v1/auth/login": {
      "post": {
        "parameters": [{"name": "body", "in": "body"}],
        "responses": {"200": {"description": "ok"}, "401": {"description": "wrong password"}}
      }
    },
    "/v1/users/me": {
      "get": {"responses": {"200": {"description": "ok"}}, "security": [{"bearer": []}]},
      "delete": {"parameters": [{"name": "body", "in": "body"}], "responses": {}, "security": [{"bearer": []}]}
    },
    "/v1/public": {
      "get": {"responses": {"503": {"description": "its own"}}, "security": []}
    },
    "/v1/loyalty/accounts/{user_id}": {
      "get": {"responses": {"200": {"description": "ok"}}}
    }
  }
}`
	tests := []struct {
		path, method  string
		defaultBearer bool
		want          []string
		description   map[string]string
	}{
		// The admin prefix adds the 403; a POST without a body parameter
		// still gets 413 and 415, since the gateway checks every body.
		{"/v1/admin/users/{user_id}/disable", "post", false,
			[]string{"401", "403", "404", "413", "415", "503"},
			map[string]string{"403": commonDescription("403"), "404": "no such user"}},
		// No bearer requirement: no 401 added, and its own 401 stays.
		{"/v1/auth/login", "post", false,
			[]string{"200", "401", "413", "415", "503"},
			map[string]string{"401": "wrong password", "503": commonDescription("503")}},
		{"/v1/users/me", "get", false,
			[]string{"200", "401", "503"}, nil},
		// A DELETE with a body parameter takes a body.
		{"/v1/users/me", "delete", false,
			[]string{"401", "413", "415", "503"}, nil},
		// An empty security list opts out of the document's requirement.
		{"/v1/public", "get", true,
			[]string{"503"}, map[string]string{"503": "its own"}},
		// The document's requirement applies without an operation's own.
		{"/v1/loyalty/accounts/{user_id}", "get", true,
			[]string{"200", "401", "503"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			v, err := parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			paths := v.(*object).get("paths").(*object)
			addCommonResponses(paths, tt.defaultBearer)
			responses := paths.get(tt.path).(*object).get(tt.method).(*object).get("responses").(*object)
			if !reflect.DeepEqual(responses.keys, tt.want) {
				t.Errorf("codes = %v, want %v", responses.keys, tt.want)
			}
			for code, want := range tt.description {
				if got := responses.get(code).(*object).get("description"); got != want {
					t.Errorf("%s description = %q, want %q", code, got, want)
				}
			}
		})
	}
}

func TestAddedResponseRefersToError(t *testing.T) {
	v, err := parse([]byte(`{"paths": {"/v1/x": {"get": {"responses": {}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	addCommonResponses(v.(*object).get("paths").(*object), false)
	var out bytes.Buffer
	write(&out, v, "")
	const want = `{
  "paths": {
    "/v1/x": {
      "get": {
        "responses": {
          "503": {
            "description": "A dependency is unavailable (UNAVAILABLE); retry later.",
            "schema": {
              "$ref": "#/definitions/Error"
            }
          }
        }
      }
    }
  }
}`
	if out.String() != want {
		t.Errorf("document =\n%s\nwant\n%s", out.String(), want)
	}
}

func commonDescription(code string) string {
	for _, r := range commonResponses {
		if r.code == code {
			return r.description
		}
	}
	return ""
}
