package grpcapi_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/services/sso/internal/grpcapi"
	"github.com/ssokit/platform/services/sso/internal/user"
)

type keyStore map[string]*eventsv1.SealedSecret

func (s keyStore) DataKey(_ context.Context, userID string, _ uint32) (*eventsv1.SealedSecret, error) {
	if userID == "broken" {
		return nil, errors.New("postgres: connection refused")
	}
	k, ok := s[userID]
	if !ok {
		return nil, user.ErrNotFound
	}
	return k, nil
}

func TestGetUserDataKey(t *testing.T) {
	t.Parallel()
	sealed := &eventsv1.SealedSecret{KeyId: "k1", Nonce: []byte("123456789012"), Ciphertext: []byte("sealed key and tag")}
	reg := prometheus.NewRegistry()
	srv := grpcapi.NewDataKeyServer(keyStore{"u1": sealed}, reg, slog.New(slog.DiscardHandler))
	tests := []struct {
		user    string
		version uint32
		code    codes.Code
		result  string
	}{
		{"u1", 0, codes.OK, "found"},
		{"u1", 1, codes.OK, "found"},
		{"erased", 1, codes.NotFound, "not_found"},
		{"u1", 2, codes.InvalidArgument, "invalid"},
		{"broken", 1, codes.Internal, "error"},
	}
	for _, tt := range tests {
		resp, err := srv.GetUserDataKey(t.Context(), &ssov1.GetUserDataKeyRequest{UserId: tt.user, KeyVersion: tt.version})
		if status.Code(err) != tt.code {
			t.Fatalf("%s v%d: %v, want %v", tt.user, tt.version, err, tt.code)
		}
		if tt.code == codes.OK && (!proto.Equal(resp.GetSealedKey(), sealed) || resp.GetKeyVersion() != 1) {
			t.Fatalf("%s: %v, want the stored sealed key, version 1", tt.user, resp)
		}
	}
	want := map[string]float64{"found": 2, "not_found": 1, "invalid": 1, "error": 1}
	for result, n := range want {
		if got := testutil.ToFloat64(mustCounter(t, reg, result)); got != n {
			t.Errorf("sso_data_key_lookups_total{result=%q} = %v, want %v", result, got, n)
		}
	}
}

func mustCounter(t *testing.T, reg *prometheus.Registry, result string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "sso_data_key_lookups_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
				c.Add(m.GetCounter().GetValue())
				return c
			}
		}
	}
	t.Fatalf("no series result=%q", result)
	return nil
}
