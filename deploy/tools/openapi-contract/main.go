// Command openapi-contract finishes the OpenAPI v2 documents that
// protoc-gen-openapiv2 writes, with the parts of the REST contract that
// belong to the gateway (libs/gateway) rather than to any proto, and that
// the plugin's annotations cannot state, or could only state again on every
// operation:
//
//   - Every object schema is closed (additionalProperties: false): the
//     gateway's JSON decoder refuses unknown fields, and responses carry no
//     field their message does not declare. google.protobuf.Any (error
//     details) stays open, since its fields depend on its @type.
//   - Error responses refer to #/definitions/Error, which this command
//     adds: the gateway's one error body, {code, status, message, details}.
//   - The answers every operation of a kind can give, whatever it does, are
//     added to each operation of that kind (see commonResponses):
//     401 to every operation that requires the bearer token (its own
//     security requirement, or the document's when it has none); the
//     administrators' 403 to every operation under /v1/admin/, whose
//     service refuses a non-administrator before it looks at the request;
//     413 and 415 to every operation a client sends a body to (one that
//     declares a body parameter, and every POST, PUT and PATCH: the gateway
//     limits and type-checks the body of every request before the route's
//     handler runs, so a POST that reads no field still refuses an
//     oversized or non-JSON body); 503 to every operation.
//
// An operation that declares one of these status codes in its proto keeps
// its own description (loyalty's 503 names the dependencies it waits on;
// login's 401 is about credentials, not a token); the protos declare only
// the answers that are specific to an operation.
//
// deploy/tools/generate.sh runs it on each document after buf generate.
// Keys keep the order the plugin wrote them in, so the documents read as the
// protos do; response codes stay sorted, as the plugin sorts them.
//
// Usage: go run ./openapi-contract FILE.swagger.json...
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: openapi-contract FILE.swagger.json...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := rewrite(path); err != nil {
			fmt.Fprintf(os.Stderr, "openapi-contract: %s: %v\n", path, err)
			os.Exit(1)
		}
	}
}

func rewrite(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc, err := parse(data)
	if err != nil {
		return err
	}
	root, ok := doc.(*object)
	if !ok {
		return errors.New("not a JSON object")
	}
	defs, ok := root.get("definitions").(*object)
	if !ok {
		defs = &object{}
		root.set("definitions", defs)
	}
	for _, k := range defs.keys {
		closeObjects(defs.get(k))
	}
	defs.set("Error", errorSchema())
	if paths, ok := root.get("paths").(*object); ok {
		addCommonResponses(paths, bearerRequired(root.get("security")))
	}

	var out bytes.Buffer
	write(&out, doc, "")
	out.WriteByte('\n')
	return os.WriteFile(path, out.Bytes(), 0o644)
}

// closeObjects sets additionalProperties false on every object schema
// (an empty message's too), nested ones included, unless it already says
// otherwise (a map's value schema).
func closeObjects(v any) {
	o, ok := v.(*object)
	if !ok {
		return
	}
	_, hasProps := o.get("properties").(*object)
	if (hasProps || o.get("type") == "object") && o.get("additionalProperties") == nil {
		o.set("additionalProperties", false)
	}
	if props, ok := o.get("properties").(*object); ok {
		for _, k := range props.keys {
			closeObjects(props.get(k))
		}
	}
	closeObjects(o.get("items"))
}

// commonResponse is an answer the gateway or every service gives on a whole
// kind of operation, described once here instead of on each operation.
type commonResponse struct {
	code        string
	description string
	applies     func(op operation) bool
}

// operation is what commonResponses decide on.
type operation struct {
	method, path string
	bearer       bool // the operation requires the bearer token
	body         bool // the operation declares a body parameter
}

var commonResponses = []commonResponse{
	{"401", "Missing, invalid or revoked access token (UNAUTHENTICATED).",
		func(op operation) bool { return op.bearer }},
	// AdminService checks the caller's role before anything else (its
	// service comment), so no admin call can answer 404 or 400 to a
	// non-administrator instead.
	{"403", "The token is not an administrator's (PERMISSION_DENIED); answered before anything the request names is looked up.",
		func(op operation) bool { return strings.HasPrefix(op.path, "/v1/admin/") }},
	// libs/gateway's limitBody and requireJSON run on every route.
	{"413", "The request body is larger than the server accepts.", takesBody},
	{"415", "The request body is not declared as application/json.", takesBody},
	{"503", "A dependency is unavailable (UNAVAILABLE); retry later.",
		func(operation) bool { return true }},
}

// takesBody reports whether clients send the operation a body: it declares
// one, or its method is one that carries a body (a POST whose request has
// no field still gets {} from most clients, and the gateway checks it).
func takesBody(op operation) bool {
	switch op.method {
	case "post", "put", "patch":
		return true
	}
	return op.body
}

// addCommonResponses adds commonResponses to each operation of paths that
// they apply to and that does not declare the status code itself.
// defaultBearer is whether the document's own security requirement asks
// for the bearer token (it applies to operations without one).
func addCommonResponses(paths *object, defaultBearer bool) {
	for _, path := range paths.keys {
		item, ok := paths.get(path).(*object)
		if !ok {
			continue
		}
		for _, method := range item.keys {
			o, ok := item.get(method).(*object)
			if !ok || method == "parameters" {
				continue
			}
			op := operation{method: method, path: path, bearer: defaultBearer}
			if sec := o.get("security"); sec != nil {
				op.bearer = bearerRequired(sec)
			}
			if params, ok := o.get("parameters").([]any); ok {
				for _, p := range params {
					if p, ok := p.(*object); ok && p.get("in") == "body" {
						op.body = true
					}
				}
			}
			responses, ok := o.get("responses").(*object)
			if !ok {
				responses = &object{}
				o.set("responses", responses)
			}
			for _, r := range commonResponses {
				if responses.get(r.code) == nil && r.applies(op) {
					responses.set(r.code, obj(
						"description", r.description,
						"schema", obj("$ref", "#/definitions/Error"),
					))
				}
			}
			// As the plugin writes them: status codes in order, then
			// "default".
			sort.SliceStable(responses.keys, func(i, j int) bool {
				return responses.keys[i] < responses.keys[j]
			})
		}
	}
}

// bearerRequired reports whether a security requirement list (an
// operation's or the document's) names the bearer scheme.
func bearerRequired(security any) bool {
	reqs, _ := security.([]any)
	for _, r := range reqs {
		if r, ok := r.(*object); ok && r.get("bearer") != nil {
			return true
		}
	}
	return false
}

// errorSchema is the body libs/gateway writes for every error (errorBody in
// libs/gateway/errors.go).
func errorSchema() *object {
	detail := obj(
		"type", "object",
		"description", "A google.protobuf.Any: @type names the detail's message (google.rpc.BadRequest, RetryInfo, PreconditionFailure), whose fields follow in snake_case.",
		"properties", obj("@type", obj("type", "string")),
		"required", []any{"@type"},
	)
	return obj(
		"type", "object",
		"description", "The error body of every failed call: the gRPC status the call ended with, which the HTTP status reflects (400 INVALID_ARGUMENT or FAILED_PRECONDITION, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND, 405 for a method the path does not declare, with an Allow header, 409 ALREADY_EXISTS, 413 a body over the limit, 415 a body that is not JSON, 429 RESOURCE_EXHAUSTED, with Retry-After, 503 UNAVAILABLE).",
		"properties", obj(
			"code", obj("type", "integer", "format", "int32", "description", "The gRPC status code (google.rpc.Code) as a number.", "minimum", 0, "maximum", 16),
			"status", obj("type", "string", "description", "The name of the code.", "enum", []any{
				"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
				"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
				"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
			}),
			"message", obj("type", "string", "description", "What went wrong, safe to show to a developer; fields are named as in the API (snake_case)."),
			"details", obj("type", "array", "items", detail, "description", "Machine-readable details, e.g. a google.rpc.BadRequest whose field_violations name the refused fields."),
		),
		"required", []any{"code", "status", "message", "details"},
		"additionalProperties", false,
	)
}

// object is a JSON object that remembers its key order.
type object struct {
	keys []string
	vals map[string]any
}

func obj(kv ...any) *object {
	o := &object{}
	for i := 0; i < len(kv); i += 2 {
		o.set(kv[i].(string), kv[i+1])
	}
	return o
}

func (o *object) get(k string) any { return o.vals[k] }

func (o *object) set(k string, v any) {
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// parse decodes JSON into *object, []any and json.Number leaves, keeping
// key order.
func parse(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

func parseValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				o.set(kt.(string), v)
			}
			_, err := dec.Token() // '}'
			return o, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token() // ']'
			return arr, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil
	}
}

// write indents as protoc-gen-openapiv2 does (two spaces).
func write(w *bytes.Buffer, v any, indent string) {
	inner := indent + "  "
	switch t := v.(type) {
	case *object:
		if len(t.keys) == 0 {
			w.WriteString("{}")
			return
		}
		w.WriteString("{\n")
		for i, k := range t.keys {
			w.WriteString(inner)
			writeScalar(w, k)
			w.WriteString(": ")
			write(w, t.vals[k], inner)
			if i < len(t.keys)-1 {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
		}
		w.WriteString(indent + "}")
	case []any:
		if len(t) == 0 {
			w.WriteString("[]")
			return
		}
		w.WriteString("[\n")
		for i, e := range t {
			w.WriteString(inner)
			write(w, e, inner)
			if i < len(t)-1 {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
		}
		w.WriteString(indent + "]")
	default:
		writeScalar(w, t)
	}
}

func writeScalar(w *bytes.Buffer, v any) {
	// HTML stays escaped (\u003c), as the plugin writes it.
	_ = json.NewEncoder(w).Encode(v) // strings, numbers, booleans and null always encode
	w.Truncate(w.Len() - 1)          // Encode's newline
}
