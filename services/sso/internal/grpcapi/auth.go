package grpcapi

import (
	"context"
	"log/slog"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/bearer"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/services/sso/internal/auth"
)

// AuthServer serves sso.v1.AuthService.
type AuthServer struct {
	ssov1.UnimplementedAuthServiceServer
	svc *auth.Service
	log *slog.Logger
}

var _ ssov1.AuthServiceServer = (*AuthServer)(nil)

// NewAuthServer returns the AuthService handlers over svc.
func NewAuthServer(svc *auth.Service, log *slog.Logger) *AuthServer {
	return &AuthServer{svc: svc, log: log}
}

// tokenType is the OAuth 2.0 token type of the access tokens handed out.
const tokenType = "Bearer"

func (s *AuthServer) Register(ctx context.Context, req *ssov1.RegisterRequest) (*ssov1.RegisterResponse, error) {
	t, err := s.svc.Register(ctx, auth.Registration{
		Email: req.GetEmail(), Password: req.GetPassword(), FullName: req.GetFullName(),
		ClientIP: clientIP(ctx), UserAgent: userAgent(ctx),
	})
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.RegisterResponse{
		UserId: t.UserID, AccessToken: t.AccessToken, RefreshToken: t.RefreshToken,
		ExpiresIn: int32(t.ExpiresIn.Seconds()), TokenType: tokenType,
	}, nil
}

func (s *AuthServer) Login(ctx context.Context, req *ssov1.LoginRequest) (*ssov1.LoginResponse, error) {
	t, err := s.svc.Login(ctx, auth.Credentials{
		Email: req.GetEmail(), Password: req.GetPassword(), ClientIP: clientIP(ctx), UserAgent: userAgent(ctx),
	})
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.LoginResponse{
		UserId: t.UserID, AccessToken: t.AccessToken, RefreshToken: t.RefreshToken,
		ExpiresIn: int32(t.ExpiresIn.Seconds()), TokenType: tokenType,
	}, nil
}

func (s *AuthServer) Refresh(ctx context.Context, req *ssov1.RefreshRequest) (*ssov1.RefreshResponse, error) {
	t, err := s.svc.Refresh(ctx, req.GetRefreshToken())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.RefreshResponse{
		UserId: t.UserID, AccessToken: t.AccessToken, RefreshToken: t.RefreshToken,
		ExpiresIn: int32(t.ExpiresIn.Seconds()), TokenType: tokenType,
	}, nil
}

func (s *AuthServer) Logout(ctx context.Context, req *ssov1.LogoutRequest) (*ssov1.LogoutResponse, error) {
	// The API requires the refresh token: a logout without one would answer
	// success and leave the session's refresh token working.
	if req.GetRefreshToken() == "" {
		return nil, toStatus(ctx, s.log, &auth.InvalidArgumentError{Field: "refresh_token", Reason: "refresh_token is required"})
	}
	if err := s.svc.Logout(ctx, bearer.Token(ctx), req.GetRefreshToken()); err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.LogoutResponse{}, nil
}

func (s *AuthServer) Validate(ctx context.Context, req *ssov1.ValidateRequest) (*ssov1.ValidateResponse, error) {
	v, err := s.svc.Validate(ctx, req.GetToken())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	resp := &ssov1.ValidateResponse{Valid: v.Valid, UserId: v.UserID, IsAdmin: v.IsAdmin}
	if v.Valid {
		resp.ExpiresAt = timestamppb.New(v.ExpiresAt)
	}
	return resp, nil
}
