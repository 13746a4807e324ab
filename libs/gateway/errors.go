package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// errorBody is the JSON of every error the gateway writes: the gRPC code as
// a number and by its canonical name, the status message and the details.
type errorBody struct {
	Code    int32             `json:"code"`
	Status  string            `json:"status"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

// detailJSON renders status details with the same field names as responses.
var detailJSON = protojson.MarshalOptions{UseProtoNames: true}

// handleError is the mux's runtime.ErrorHandlerFunc: it writes err, a gRPC
// status error from the service or the gateway itself, in the error shape.
func handleError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	httpStatus := 0
	var withStatus *runtime.HTTPStatusError
	if errors.As(err, &withStatus) {
		httpStatus, err = withStatus.HTTPStatus, withStatus.Err
	}
	st, ok := status.FromError(err)
	if !ok && httpStatus == http.StatusBadRequest {
		// grpc-gateway's own 400s (a malformed path escape) are plain errors.
		st = status.New(codes.InvalidArgument, err.Error())
	}
	if httpStatus == 0 {
		httpStatus = runtime.HTTPStatusFromCode(st.Code())
	}
	writeStatus(w, httpStatus, st)
}

// handleRoutingError is the mux's runtime.RoutingErrorHandlerFunc, so a
// request no route matches gets the same JSON as any other error. A method
// the path does not declare is 405 with an Allow header listing those it
// does (RFC 9110), and code UNIMPLEMENTED, as gRPC answers an unknown
// method.
func handleRoutingError(_ context.Context, mux *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if isProbe(r) {
		return // the probed method has no route; allowedMethods notes that
	}
	var st *status.Status
	switch httpStatus {
	case http.StatusNotFound:
		st = status.Newf(codes.NotFound, "no route for %s %s", r.Method, r.URL.Path)
	case http.StatusMethodNotAllowed:
		allowed := strings.Join(allowedMethods(mux, r), ", ")
		w.Header().Set("Allow", allowed)
		st = status.Newf(codes.Unimplemented, "method %s is not allowed for %s (allowed: %s)", r.Method, r.URL.Path, allowed)
	case http.StatusBadRequest:
		st = status.New(codes.InvalidArgument, "malformed request path")
	default:
		st = status.New(codes.Internal, "routing error")
	}
	writeStatus(w, httpStatus, st)
}

// writeStatus writes st in the error shape with the given HTTP status.
func writeStatus(w http.ResponseWriter, httpStatus int, st *status.Status) {
	body := errorBody{
		Code:    int32(st.Code()),
		Status:  code.Code(st.Code()).String(),
		Message: st.Message(),
		Details: []json.RawMessage{},
	}
	for _, d := range st.Proto().GetDetails() {
		b, err := detailJSON.Marshal(d)
		if err != nil {
			// A detail type this binary does not link cannot be rendered;
			// its type URL still tells the client what it was.
			b, _ = json.Marshal(map[string]string{"@type": d.GetTypeUrl()})
		}
		body.Details = append(body.Details, b)
	}
	buf, err := json.Marshal(body)
	if err != nil {
		httpStatus = http.StatusInternalServerError
		buf = []byte(`{"code":13,"status":"INTERNAL","message":"cannot encode the error","details":[]}`)
	}

	h := w.Header()
	h.Del("Trailer")
	h.Del("Transfer-Encoding")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(buf)))
	h.Set("X-Content-Type-Options", "nosniff")
	if secs, ok := retryAfter(st); ok {
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	if st.Code() == codes.Unauthenticated {
		h.Set("WWW-Authenticate", "Bearer")
	}
	w.WriteHeader(httpStatus)
	_, _ = w.Write(buf) // the client is gone if this fails; nothing to do
}

// retryAfter returns the delay of st's first valid google.rpc.RetryInfo in
// whole seconds, rounded up so a client never retries too early.
func retryAfter(st *status.Status) (int64, bool) {
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.RetryInfo)
		if !ok || info.GetRetryDelay().CheckValid() != nil {
			continue
		}
		delay := info.GetRetryDelay().AsDuration()
		if delay < 0 {
			continue
		}
		return int64(math.Ceil(delay.Seconds())), true
	}
	return 0, false
}
