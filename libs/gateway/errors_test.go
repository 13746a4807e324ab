package gateway

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

func withDetails(t *testing.T, c codes.Code, msg string, details ...protoadapt.MessageV1) *status.Status {
	t.Helper()
	st, err := status.New(c, msg).WithDetails(details...)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func retryIn(d time.Duration) *errdetails.RetryInfo {
	return &errdetails.RetryInfo{RetryDelay: durationpb.New(d)}
}

func TestWriteStatus(t *testing.T) {
	unknownDetail := status.FromProto(&spb.Status{
		Code:    int32(codes.FailedPrecondition),
		Message: "balance too low",
		Details: []*anypb.Any{{TypeUrl: "type.googleapis.com/ssokit.test.Unlinked", Value: []byte{8, 1}}},
	})
	tests := []struct {
		name           string
		st             *status.Status
		wantBody       string
		wantRetryAfter string
		wantChallenge  string
	}{
		{
			name:     "no details",
			st:       status.New(codes.NotFound, "user not found"),
			wantBody: `{"code":5,"status":"NOT_FOUND","message":"user not found","details":[]}`,
		},
		{
			name: "retry delay rounded up",
			st:   withDetails(t, codes.ResourceExhausted, "slow down", retryIn(1001*time.Millisecond)),
			wantBody: `{"code":8,"status":"RESOURCE_EXHAUSTED","message":"slow down","details":[` +
				`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retry_delay":"1.001s"}]}`,
			wantRetryAfter: "2",
		},
		{
			name: "whole seconds kept",
			st:   withDetails(t, codes.Unavailable, "restarting", retryIn(30*time.Second)),
			wantBody: `{"code":14,"status":"UNAVAILABLE","message":"restarting","details":[` +
				`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retry_delay":"30s"}]}`,
			wantRetryAfter: "30",
		},
		{
			name: "zero delay",
			st:   withDetails(t, codes.ResourceExhausted, "retry now", retryIn(0)),
			wantBody: `{"code":8,"status":"RESOURCE_EXHAUSTED","message":"retry now","details":[` +
				`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retry_delay":"0s"}]}`,
			wantRetryAfter: "0",
		},
		{
			name: "negative delay ignored",
			st:   withDetails(t, codes.ResourceExhausted, "odd", retryIn(-time.Second)),
			wantBody: `{"code":8,"status":"RESOURCE_EXHAUSTED","message":"odd","details":[` +
				`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retry_delay":"-1s"}]}`,
		},
		{
			name: "other details rendered with proto names",
			st: withDetails(t, codes.InvalidArgument, "bad input", &errdetails.BadRequest{
				FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "email", Description: "malformed"}},
			}),
			wantBody: `{"code":3,"status":"INVALID_ARGUMENT","message":"bad input","details":[` +
				`{"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{"field":"email","description":"malformed"}]}]}`,
		},
		{
			name:     "unlinked detail type keeps its type URL",
			st:       unknownDetail,
			wantBody: `{"code":9,"status":"FAILED_PRECONDITION","message":"balance too low","details":[{"@type":"type.googleapis.com/ssokit.test.Unlinked"}]}`,
		},
		{
			name:          "unauthenticated challenges for a bearer token",
			st:            status.New(codes.Unauthenticated, "invalid credentials"),
			wantBody:      `{"code":16,"status":"UNAUTHENTICATED","message":"invalid credentials","details":[]}`,
			wantChallenge: "Bearer",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			httpStatus := runtime.HTTPStatusFromCode(tt.st.Code())
			writeStatus(rec, httpStatus, tt.st)

			if rec.Code != httpStatus {
				t.Errorf("status = %d, want %d", rec.Code, httpStatus)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantChallenge)
			}
			var got, want any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, rec.Body)
			}
			if err := json.Unmarshal([]byte(tt.wantBody), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("body = %s\nwant   %s", rec.Body, tt.wantBody)
			}
		})
	}
}
