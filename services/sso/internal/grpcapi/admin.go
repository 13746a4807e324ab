package grpcapi

import (
	"context"
	"log/slog"
	"math"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/bearer"
	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/oidc"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// AdminServer serves sso.v1.AdminService. Every handler hands the bearer
// token to its use case, which refuses a non-administrator before reading
// the request.
type AdminServer struct {
	ssov1.UnimplementedAdminServiceServer
	svc     *auth.Service
	clients *oidc.Admin
	log     *slog.Logger
}

var _ ssov1.AdminServiceServer = (*AdminServer)(nil)

// NewAdminServer returns the AdminService handlers over svc.
func NewAdminServer(svc *auth.Service, log *slog.Logger) *AdminServer {
	return &AdminServer{svc: svc, log: log}
}

func (s *AdminServer) ListUsers(ctx context.Context, req *ssov1.ListUsersRequest) (*ssov1.ListUsersResponse, error) {
	page, err := s.svc.ListUsers(ctx, bearer.Token(ctx), auth.ListUsersRequest{
		PageSize:      int(req.GetPageSize()),
		PageToken:     req.GetPageToken(),
		EmailPrefix:   req.GetEmailPrefix(),
		CreatedAfter:  optionalTime(req.GetCreatedAfter()),
		CreatedBefore: optionalTime(req.GetCreatedBefore()),
	})
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	resp := &ssov1.ListUsersResponse{Users: make([]*ssov1.AdminUser, len(page.Users)), NextPageToken: page.NextPageToken}
	for i, u := range page.Users {
		resp.Users[i] = adminUser(u)
	}
	return resp, nil
}

func (s *AdminServer) GetUser(ctx context.Context, req *ssov1.GetUserRequest) (*ssov1.GetUserResponse, error) {
	d, err := s.svc.GetUser(ctx, bearer.Token(ctx), req.GetUserId())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.GetUserResponse{User: adminUser(d.User), LiveSessions: int32(min(d.Sessions, math.MaxInt32))}, nil
}

func (s *AdminServer) DisableUser(ctx context.Context, req *ssov1.DisableUserRequest) (*ssov1.DisableUserResponse, error) {
	u, err := s.svc.DisableUser(ctx, bearer.Token(ctx), req.GetUserId())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.DisableUserResponse{User: adminUser(u)}, nil
}

func (s *AdminServer) DeleteUser(ctx context.Context, req *ssov1.DeleteUserRequest) (*ssov1.DeleteUserResponse, error) {
	if err := s.svc.DeleteUserAsAdmin(ctx, bearer.Token(ctx), req.GetUserId()); err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.DeleteUserResponse{}, nil
}

func (s *AdminServer) EnableUser(ctx context.Context, req *ssov1.EnableUserRequest) (*ssov1.EnableUserResponse, error) {
	u, err := s.svc.EnableUser(ctx, bearer.Token(ctx), req.GetUserId())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.EnableUserResponse{User: adminUser(u)}, nil
}

func (s *AdminServer) GrantAdmin(ctx context.Context, req *ssov1.GrantAdminRequest) (*ssov1.GrantAdminResponse, error) {
	u, err := s.svc.SetAdminRole(ctx, bearer.Token(ctx), req.GetUserId(), true)
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.GrantAdminResponse{User: adminUser(u)}, nil
}

func (s *AdminServer) RevokeAdmin(ctx context.Context, req *ssov1.RevokeAdminRequest) (*ssov1.RevokeAdminResponse, error) {
	u, err := s.svc.SetAdminRole(ctx, bearer.Token(ctx), req.GetUserId(), false)
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.RevokeAdminResponse{User: adminUser(u)}, nil
}

func (s *AdminServer) RevokeUserSessions(ctx context.Context, req *ssov1.RevokeUserSessionsRequest) (*ssov1.RevokeUserSessionsResponse, error) {
	n, err := s.svc.EndUserSessionsAsAdmin(ctx, bearer.Token(ctx), req.GetUserId())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.RevokeUserSessionsResponse{Revoked: int32(min(n, math.MaxInt32))}, nil
}

func adminUser(u user.User) *ssov1.AdminUser {
	return &ssov1.AdminUser{
		UserId:        u.ID,
		Email:         u.Email,
		FullName:      u.FullName,
		IsAdmin:       u.IsAdmin,
		EmailVerified: u.EmailVerified,
		Disabled:      u.Disabled,
		CreatedAt:     timestamppb.New(u.CreatedAt),
	}
}

// optionalTime is the zero time for an absent timestamp, which filters
// nothing.
func optionalTime(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func (s *AdminServer) ListAuditEvents(ctx context.Context, req *ssov1.ListAuditEventsRequest) (*ssov1.ListAuditEventsResponse, error) {
	page, err := s.svc.ListAuditEvents(ctx, bearer.Token(ctx), auth.AuditRequest{
		PageSize:  int(req.GetPageSize()),
		PageToken: req.GetPageToken(),
		UserID:    req.GetUserId(),
		ActorID:   req.GetActorId(),
		Action:    outbox.AuditAction(req.GetAction()),
	})
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	resp := &ssov1.ListAuditEventsResponse{Events: make([]*eventsv1.AuditEvent, len(page.Entries)), NextPageToken: page.NextPageToken}
	for i, e := range page.Entries {
		resp.Events[i] = outbox.AuditProto(e)
	}
	return resp, nil
}
