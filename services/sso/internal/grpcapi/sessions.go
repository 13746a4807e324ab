package grpcapi

import (
	"context"
	"log/slog"
	"math"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/bearer"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/services/sso/internal/auth"
)

// SessionServer serves sso.v1.SessionService.
type SessionServer struct {
	ssov1.UnimplementedSessionServiceServer
	svc *auth.Service
	log *slog.Logger
}

var _ ssov1.SessionServiceServer = (*SessionServer)(nil)

// NewSessionServer returns the SessionService handlers over svc.
func NewSessionServer(svc *auth.Service, log *slog.Logger) *SessionServer {
	return &SessionServer{svc: svc, log: log}
}

func (s *SessionServer) ListSessions(ctx context.Context, _ *ssov1.ListSessionsRequest) (*ssov1.ListSessionsResponse, error) {
	views, err := s.svc.ListSessions(ctx, bearer.Token(ctx))
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	resp := &ssov1.ListSessionsResponse{Sessions: make([]*ssov1.Session, len(views))}
	for i, v := range views {
		resp.Sessions[i] = &ssov1.Session{
			Id:            v.Family,
			CreatedAt:     timestamppb.New(v.Created),
			LastUsedAt:    timestamppb.New(v.LastUsed),
			ClientAddress: v.ClientAddress,
			UserAgent:     v.UserAgent,
			Current:       v.Current,
		}
	}
	return resp, nil
}

func (s *SessionServer) RevokeSession(ctx context.Context, req *ssov1.RevokeSessionRequest) (*ssov1.RevokeSessionResponse, error) {
	if err := s.svc.EndSession(ctx, bearer.Token(ctx), req.GetSessionId()); err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.RevokeSessionResponse{}, nil
}

func (s *SessionServer) RevokeAllSessions(ctx context.Context, _ *ssov1.RevokeAllSessionsRequest) (*ssov1.RevokeAllSessionsResponse, error) {
	n, err := s.svc.EndAllSessions(ctx, bearer.Token(ctx))
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.RevokeAllSessionsResponse{Revoked: int32(min(n, math.MaxInt32))}, nil
}
