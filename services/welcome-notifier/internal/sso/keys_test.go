package sso_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/services/welcome-notifier/internal/sso"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

const (
	userID  = "0f8fad5b-d9cb-469f-a165-70867728950e"
	eventID = "a3bb189e-8bf9-4888-9912-ace4e6543002"
)

// keyServer answers GetUserDataKey as sso does: the stored key, sealed
// under the ring, or the code in err.
type keyServer struct {
	ssov1.UnimplementedUserDataKeyServiceServer
	sealed *eventsv1.SealedSecret
	err    error
}

func (s *keyServer) GetUserDataKey(_ context.Context, req *ssov1.GetUserDataKeyRequest) (*ssov1.GetUserDataKeyResponse, error) {
	if s.err != nil {
		return nil, s.err
	}
	if req.GetUserId() != userID {
		return nil, status.Error(codes.NotFound, "no data key")
	}
	return &ssov1.GetUserDataKeyResponse{SealedKey: s.sealed, KeyVersion: sealbox.DataKeyVersion}, nil
}

func serve(t *testing.T, srv ssov1.UserDataKeyServiceServer) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	ssov1.RegisterUserDataKeyServiceServer(s, srv)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return dial(t, lis.Addr().String())
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestOpenPersonal(t *testing.T) {
	t.Parallel()
	line, err := sealbox.NewKeyLine("test")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := sealbox.Parse([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	key, err := sealbox.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := ring.WrapDataKey(userID, sealbox.DataKeyVersion, key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sealbox.SealPersonal(key, sealbox.DataKeyVersion, userID, eventID, &eventsv1.PersonalData{Email: "ada@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	// A port nothing listens on: sso is down.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := lis.Addr().String()
	_ = lis.Close()

	tests := []struct {
		name    string
		conn    *grpc.ClientConn
		user    string
		want    error // nil: opens
		result  string
		notWant error
	}{
		{"found", serve(t, &keyServer{sealed: wrapped}), userID, nil, "found", nil},
		{"erased", serve(t, &keyServer{sealed: wrapped}), "6f1c0b2e-8e55-4a3e-9d2a-2f0f3f1d9c11", welcome.ErrErased, "erased", welcome.ErrUnavailable},
		{"sso down", dial(t, downAddr), userID, welcome.ErrUnavailable, "unavailable", welcome.ErrErased},
		{"sso failing", serve(t, &keyServer{err: status.Error(codes.Unavailable, "no primary")}), userID, welcome.ErrUnavailable, "unavailable", welcome.ErrErased},
		{"key of another ring", serve(t, &keyServer{sealed: &eventsv1.SealedSecret{KeyId: "other", Nonce: wrapped.GetNonce(), Ciphertext: wrapped.GetCiphertext()}}), userID, welcome.ErrInvalidEvent, "invalid", welcome.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := prometheus.NewRegistry()
			keys, err := sso.NewKeys(tt.conn, ring, time.Second, reg)
			if err != nil {
				t.Fatal(err)
			}
			p, err := keys.OpenPersonal(t.Context(), tt.user, eventID, sealed)
			if tt.want == nil {
				if err != nil || p.GetEmail() != "ada@example.test" {
					t.Fatalf("OpenPersonal = %v, %v", p, err)
				}
			} else if !errors.Is(err, tt.want) || errors.Is(err, tt.notWant) {
				t.Fatalf("OpenPersonal = %v, want %v", err, tt.want)
			}
			metric, err := testutil.GatherAndCount(reg, "welcome_notifier_data_key_lookups_total")
			if err != nil || metric != 4 {
				t.Fatalf("lookup series %d, %v; want 4 exported", metric, err)
			}
			mfs, _ := reg.Gather()
			for _, m := range mfs[0].GetMetric() {
				want := 0.0
				if m.GetLabel()[0].GetValue() == tt.result {
					want = 1
				}
				if m.GetCounter().GetValue() != want {
					t.Errorf("lookups{%s} = %v, want %v", m.GetLabel()[0].GetValue(), m.GetCounter().GetValue(), want)
				}
			}
		})
	}
}
