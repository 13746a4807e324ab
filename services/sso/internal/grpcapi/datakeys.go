package grpcapi

import (
	"context"
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// DataKeyStore finds the users' data keys as stored: sealed under the ring
// and bound to their user.
type DataKeyStore interface {
	// DataKey returns the sealed data key of version of the user, or
	// user.ErrNotFound when the user has none (never registered, or
	// deleted).
	DataKey(ctx context.Context, userID string, version uint32) (*eventsv1.SealedSecret, error)
}

// DataKeyServer serves sso.v1.UserDataKeyService. The stored key is
// already sealed for the ring holders, so it is handed out as it is: the
// server itself never opens it.
type DataKeyServer struct {
	ssov1.UnimplementedUserDataKeyServiceServer
	store   DataKeyStore
	lookups *prometheus.CounterVec
	log     *slog.Logger
}

var _ ssov1.UserDataKeyServiceServer = (*DataKeyServer)(nil)

// NewDataKeyServer returns the UserDataKeyService handlers over store,
// counting lookups by result in sso_data_key_lookups_total{result}: found,
// not_found (an erased or unknown user), invalid, error.
func NewDataKeyServer(store DataKeyStore, reg prometheus.Registerer, log *slog.Logger) *DataKeyServer {
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sso_data_key_lookups_total",
		Help: "Data key lookups by event consumers (UserDataKeyService), by result: found, not_found (erased or unknown user), invalid, error.",
	}, []string{"result"})
	for _, r := range []string{"found", "not_found", "invalid", "error"} {
		lookups.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(lookups)
	}
	return &DataKeyServer{store: store, lookups: lookups, log: log}
}

func (s *DataKeyServer) GetUserDataKey(ctx context.Context, req *ssov1.GetUserDataKeyRequest) (*ssov1.GetUserDataKeyResponse, error) {
	version := req.GetKeyVersion()
	if version == 0 {
		version = sealbox.DataKeyVersion
	}
	if version != sealbox.DataKeyVersion {
		s.lookups.WithLabelValues("invalid").Inc()
		return nil, status.Error(codes.InvalidArgument, "unknown key version")
	}
	key, err := s.store.DataKey(ctx, req.GetUserId(), version)
	switch {
	case errors.Is(err, user.ErrNotFound):
		s.lookups.WithLabelValues("not_found").Inc()
		return nil, status.Error(codes.NotFound, "no data key: the user does not exist or was erased")
	case err != nil:
		s.lookups.WithLabelValues("error").Inc()
		return nil, toStatus(ctx, s.log, err)
	}
	s.lookups.WithLabelValues("found").Inc()
	return &ssov1.GetUserDataKeyResponse{SealedKey: key, KeyVersion: version}, nil
}
