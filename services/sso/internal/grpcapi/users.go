package grpcapi

import (
	"context"
	"log/slog"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/bearer"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// UserServer serves sso.v1.UserService.
type UserServer struct {
	ssov1.UnimplementedUserServiceServer
	svc *auth.Service
	log *slog.Logger
}

var _ ssov1.UserServiceServer = (*UserServer)(nil)

// NewUserServer returns the UserService handlers over svc.
func NewUserServer(svc *auth.Service, log *slog.Logger) *UserServer {
	return &UserServer{svc: svc, log: log}
}

func (s *UserServer) GetMe(ctx context.Context, _ *ssov1.GetMeRequest) (*ssov1.GetMeResponse, error) {
	u, err := s.svc.Me(ctx, bearer.Token(ctx))
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.GetMeResponse{
		UserId:                  u.ID,
		Email:                   u.Email,
		FullName:                u.FullName,
		IsAdmin:                 u.IsAdmin,
		CreatedAt:               timestamppb.New(u.CreatedAt),
		RegistrationEventStatus: eventStatus(u.EventStatus),
		EmailVerified:           u.EmailVerified,
	}, nil
}

func (s *UserServer) IsAdmin(ctx context.Context, req *ssov1.IsAdminRequest) (*ssov1.IsAdminResponse, error) {
	admin, err := s.svc.IsAdmin(ctx, bearer.Token(ctx), req.GetUserId())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.IsAdminResponse{IsAdmin: admin}, nil
}

func eventStatus(s user.EventStatus) ssov1.RegistrationEventStatus {
	switch s {
	case user.EventInProgress:
		return ssov1.RegistrationEventStatus_REGISTRATION_EVENT_STATUS_IN_PROGRESS
	case user.EventSuccessful:
		return ssov1.RegistrationEventStatus_REGISTRATION_EVENT_STATUS_SUCCESSFUL
	case user.EventFailed:
		return ssov1.RegistrationEventStatus_REGISTRATION_EVENT_STATUS_FAILED
	default:
		return ssov1.RegistrationEventStatus_REGISTRATION_EVENT_STATUS_UNSPECIFIED
	}
}

func (s *UserServer) DeleteAccount(ctx context.Context, req *ssov1.DeleteAccountRequest) (*ssov1.DeleteAccountResponse, error) {
	if err := s.svc.DeleteAccount(ctx, auth.AccountDeletion{
		AccessToken: bearer.Token(ctx), Password: req.GetPassword(), ClientIP: clientIP(ctx),
	}); err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.DeleteAccountResponse{}, nil
}
