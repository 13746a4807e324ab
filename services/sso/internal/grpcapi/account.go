package grpcapi

import (
	"context"
	"log/slog"

	"github.com/ssokit/platform/libs/bearer"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/services/sso/internal/auth"
)

// AccountServer serves sso.v1.AccountService.
type AccountServer struct {
	ssov1.UnimplementedAccountServiceServer
	svc *auth.Service
	log *slog.Logger
}

var _ ssov1.AccountServiceServer = (*AccountServer)(nil)

// NewAccountServer returns the AccountService handlers over svc.
func NewAccountServer(svc *auth.Service, log *slog.Logger) *AccountServer {
	return &AccountServer{svc: svc, log: log}
}

func (s *AccountServer) VerifyEmail(ctx context.Context, req *ssov1.VerifyEmailRequest) (*ssov1.VerifyEmailResponse, error) {
	if err := s.svc.VerifyEmail(ctx, req.GetToken()); err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.VerifyEmailResponse{}, nil
}

func (s *AccountServer) ResendVerification(ctx context.Context, _ *ssov1.ResendVerificationRequest) (*ssov1.ResendVerificationResponse, error) {
	if err := s.svc.ResendVerification(ctx, bearer.Token(ctx), clientIP(ctx)); err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.ResendVerificationResponse{}, nil
}

func (s *AccountServer) ForgotPassword(ctx context.Context, req *ssov1.ForgotPasswordRequest) (*ssov1.ForgotPasswordResponse, error) {
	if err := s.svc.ForgotPassword(ctx, req.GetEmail(), clientIP(ctx)); err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.ForgotPasswordResponse{}, nil
}

func (s *AccountServer) ResetPassword(ctx context.Context, req *ssov1.ResetPasswordRequest) (*ssov1.ResetPasswordResponse, error) {
	err := s.svc.ResetPassword(ctx, auth.PasswordReset{
		Token: req.GetToken(), NewPassword: req.GetNewPassword(), ClientIP: clientIP(ctx),
	})
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.ResetPasswordResponse{}, nil
}

func (s *AccountServer) ChangePassword(ctx context.Context, req *ssov1.ChangePasswordRequest) (*ssov1.ChangePasswordResponse, error) {
	t, err := s.svc.ChangePassword(ctx, auth.PasswordChange{
		AccessToken: bearer.Token(ctx), CurrentPassword: req.GetCurrentPassword(),
		NewPassword: req.GetNewPassword(), ClientIP: clientIP(ctx), UserAgent: userAgent(ctx),
	})
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.ChangePasswordResponse{
		UserId: t.UserID, AccessToken: t.AccessToken, RefreshToken: t.RefreshToken,
		ExpiresIn: int32(t.ExpiresIn.Seconds()), TokenType: tokenType,
	}, nil
}
