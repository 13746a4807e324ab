package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/ssokit/platform/libs/grpcerr"
)

// This file keeps the gateway to the OpenAPI documents generated from the
// protos: the methods a path allows, who must present a token before
// anything else is looked at, and the field names a body may use.

// probeKey marks a request that only asks whether a route matches.
type probeKey struct{}

// probe records whether a probed request reached a route, and whether that
// route names the path's last segment literally rather than binding it to
// a path parameter.
type probe struct{ matched, literal bool }

// probeMethods are the methods an Allow header may list: those the http
// rules of the protos can bind (custom verbs aside).
var probeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// routeGuard is the outermost middleware. A probe request (see
// allowedMethods) stops here, noting that its method has a route for its
// path. It also keeps custom verbs apart from path parameters: grpc-gateway
// lets GET /v1/loyalty/accounts/{user_id} match
// /v1/loyalty/accounts/42:deposit, with "42:deposit" as the id, where the
// API documents only POST. No path parameter of the API holds a colon, so a
// verb-less route whose last segment has one is no match: the request gets
// the 405 (or 404) any other unrouted method gets.
//
// Likewise a path that a route names literally belongs to that route, as in
// OpenAPI, where a concrete path wins over a template: DELETE
// /v1/users/me/sessions/{session_id} does not take
// /v1/users/me/sessions/revoke-all, whose only method is POST, with
// "revoke-all" as the id. mux is the mux the middleware is installed in, set
// once New has built it.
func routeGuard(mux **runtime.ServeMux) runtime.Middleware {
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			pat, _ := runtime.HTTPPattern(r.Context())
			colonParam := pat.Verb() == "" && strings.Contains(path.Base(r.URL.Path), ":")
			if p, ok := r.Context().Value(probeKey{}).(*probe); ok {
				p.matched, p.literal = !colonParam, !bindsLast(pat)
				return
			}
			if colonParam {
				httpStatus := http.StatusMethodNotAllowed
				if len(allowedMethods(*mux, r)) == 0 {
					httpStatus = http.StatusNotFound
				}
				handleRoutingError(r.Context(), *mux, nil, w, r, httpStatus)
				return
			}
			if bindsLast(pat) && literallyRouted(*mux, r) {
				handleRoutingError(r.Context(), *mux, nil, w, r, http.StatusMethodNotAllowed)
				return
			}
			next(w, r, params)
		}
	}
}

// bindsLast reports whether pat binds the last segment of its path to a
// path parameter ("/v1/users/me/sessions/{session_id=*}").
func bindsLast(pat runtime.Pattern) bool {
	return pat.Verb() == "" && strings.HasSuffix(pat.String(), "}")
}

// literallyRouted reports whether another method has a route naming r's
// path literally.
func literallyRouted(mux *runtime.ServeMux, r *http.Request) bool {
	for _, p := range probeAll(mux, r) {
		if p.matched && p.literal {
			return true
		}
	}
	return false
}

// allowedMethods returns the methods mux routes for r's path, in
// probeMethods order. grpc-gateway tells its routing error handler only the
// status, so each method is tried on the mux with a probe request, which
// routeGuard stops before any handler runs and handleRoutingError ignores.
//
// When a route names the path literally, only the methods of such routes
// are allowed (see routeGuard).
func allowedMethods(mux *runtime.ServeMux, r *http.Request) []string {
	probes := probeAll(mux, r)
	literal := false
	for _, p := range probes {
		literal = literal || p.matched && p.literal
	}
	var allowed []string
	for m, p := range probes {
		if p.matched && (p.literal || !literal) {
			allowed = append(allowed, m)
		}
	}
	slices.SortFunc(allowed, func(a, b string) int {
		return slices.Index(probeMethods, a) - slices.Index(probeMethods, b)
	})
	return allowed
}

// probeAll tries each method of probeMethods but r's own on mux with r's
// path, with a probe request.
func probeAll(mux *runtime.ServeMux, r *http.Request) map[string]*probe {
	probes := make(map[string]*probe, len(probeMethods))
	for _, m := range probeMethods {
		if m == r.Method {
			continue
		}
		p := &probe{}
		req := r.Clone(context.WithValue(r.Context(), probeKey{}, p))
		req.Method = m
		req.Body, req.ContentLength = http.NoBody, 0
		mux.ServeHTTP(discard{}, req)
		probes[m] = p
	}
	return probes
}

func isProbe(r *http.Request) bool {
	_, ok := r.Context().Value(probeKey{}).(*probe)
	return ok
}

// discard is the ResponseWriter of probe requests, which write nothing.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// requireBearer refuses a request without a bearer token (see
// WithBearerRequired).
func requireBearer(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			writeStatus(w, http.StatusUnauthorized, status.New(codes.Unauthenticated, "missing bearer access token"))
			return
		}
		next(w, r, params)
	}
}

// refusePathFieldsInBody refuses a JSON body that sets a field the path
// already binds (user_id of POST /v1/loyalty/accounts/{user_id}:deposit):
// grpc-gateway would quietly let the path win, and the OpenAPI document
// leaves such fields out of the body's schema. It runs after limitBody,
// which has buffered the body.
func refusePathFieldsInBody(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if len(params) == 0 || r.ContentLength <= 0 {
			next(w, r, params)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeStatus(w, http.StatusBadRequest, status.Newf(codes.InvalidArgument, "cannot read the request body: %v", err))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) == nil { // anything else is the decoder's to report
			for param := range params {
				field, _, _ := strings.Cut(param, ".")
				if _, ok := fields[field]; ok {
					msg := fmt.Sprintf("invalid JSON body: field %q is given by the request path", field)
					writeStatus(w, http.StatusBadRequest, badRequest(msg, field, "is given by the request path, not the body"))
					return
				}
			}
		}
		next(w, r, params)
	}
}

func badRequest(msg, field, reason string) *status.Status {
	st, _ := status.FromError(grpcerr.InvalidArgument(msg, field, reason))
	return st
}

// checkBody holds a request body, which protojson has accepted, to what the
// OpenAPI documents declare, where protojson is more lenient:
//
//   - Keys must be the proto names of desc's fields. protojson also
//     accepts each field's JSON name (fullName for full_name), which the
//     API does not declare.
//   - A 64-bit integer is a JSON string of decimal digits ("amount": "50"),
//     the canonical protojson form the documents declare; protojson would
//     also take a number, an exponent or a fraction ("5e1", "50.0").
//   - No value is null: the documents declare no nullable field, while
//     protojson reads null as "not set".
//
// Nested messages are checked too; well-known types have JSON forms of
// their own and are left to protojson.
func checkBody(data []byte, desc protoreflect.MessageDescriptor) error {
	if !needsCheck(desc, 0) && !bytes.Contains(data, []byte("null")) {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil // protojson accepted it, so it is an object; nothing to add
	}
	for key, raw := range obj {
		fd := desc.Fields().ByName(protoreflect.Name(key))
		if fd == nil {
			return fmt.Errorf("unknown field %q", key)
		}
		if err := checkValue(fd, raw); err != nil {
			return err
		}
	}
	return nil
}

func checkValue(fd protoreflect.FieldDescriptor, raw json.RawMessage) error {
	if string(raw) == "null" {
		return fmt.Errorf("invalid value for field %s: null (leave the field out instead)", fd.Name())
	}
	if fd.IsMap() {
		return nil
	}
	if fd.IsList() {
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil
		}
		for _, it := range items {
			if err := checkScalarOrMessage(fd, it); err != nil {
				return err
			}
		}
		return nil
	}
	return checkScalarOrMessage(fd, raw)
}

func checkScalarOrMessage(fd protoreflect.FieldDescriptor, raw json.RawMessage) error {
	switch {
	case nestedMessage(fd):
		return checkBody(raw, fd.Message())
	case int64Kind(fd.Kind()):
		if !decimalString.Match(raw) {
			return fmt.Errorf("invalid value for %v field %s: %s (a 64-bit integer is a string of decimal digits)", fd.Kind(), fd.Name(), raw)
		}
	}
	return nil
}

// decimalString is a JSON string holding an integer in decimal, without a
// plus sign or leading zeros.
var decimalString = regexp.MustCompile(`^"-?(0|[1-9][0-9]*)"$`)

func int64Kind(k protoreflect.Kind) bool {
	switch k {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return true
	}
	return false
}

// needsCheck reports whether checkBody has anything to check in a message
// of type desc: a field, its own or a nested message's, with a JSON name
// other than its proto name, or a 64-bit integer. Most requests have
// neither and skip the second look at their body.
func needsCheck(desc protoreflect.MessageDescriptor, depth int) bool {
	if depth > 8 { // recursive messages; the check then simply runs
		return true
	}
	fields := desc.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.JSONName() != string(fd.Name()) || int64Kind(fd.Kind()) {
			return true
		}
		if nestedMessage(fd) && needsCheck(fd.Message(), depth+1) {
			return true
		}
	}
	return false
}

func nestedMessage(fd protoreflect.FieldDescriptor) bool {
	return fd.Message() != nil && !fd.IsMap() &&
		!strings.HasPrefix(string(fd.Message().FullName()), "google.protobuf.")
}

// invalidValue matches protojson's "invalid value for <kind> field <name>:",
// which names the field by its JSON name (refreshToken).
var invalidValue = regexp.MustCompile(`(invalid value for \S+ field )(\w+)(:)`)

// withProtoNames rewrites the JSON field names protojson puts in its
// messages to the proto names the API uses (refresh_token).
func withProtoNames(msg string, desc protoreflect.MessageDescriptor) string {
	return invalidValue.ReplaceAllStringFunc(msg, func(m string) string {
		parts := invalidValue.FindStringSubmatch(m)
		if name, ok := protoName(desc, parts[2], 0); ok {
			return parts[1] + name + parts[3]
		}
		return m
	})
}

// protoName finds the field of desc, or of a message it nests, whose JSON
// name is jsonName.
func protoName(desc protoreflect.MessageDescriptor, jsonName string, depth int) (string, bool) {
	if depth > 8 {
		return "", false
	}
	if fd := desc.Fields().ByJSONName(jsonName); fd != nil {
		return string(fd.Name()), true
	}
	fields := desc.Fields()
	for i := range fields.Len() {
		if fd := fields.Get(i); nestedMessage(fd) {
			if name, ok := protoName(fd.Message(), jsonName, depth+1); ok {
				return name, true
			}
		}
	}
	return "", false
}
