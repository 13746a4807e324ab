package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/bearer"
	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/services/sso/internal/oidc"
)

// WithClients lets the AdminService manage the OpenID Connect provider's
// clients; without it those calls answer UNIMPLEMENTED.
func (s *AdminServer) WithClients(a *oidc.Admin) *AdminServer {
	s.clients = a
	return s
}

func (s *AdminServer) CreateClient(ctx context.Context, req *ssov1.CreateClientRequest) (*ssov1.CreateClientResponse, error) {
	if s.clients == nil {
		return s.UnimplementedAdminServiceServer.CreateClient(ctx, req)
	}
	c, secret, err := s.clients.CreateClient(ctx, bearer.Token(ctx), oidc.Registration{
		Name: req.GetName(), Confidential: req.GetConfidential(), FirstParty: req.GetFirstParty(),
		RedirectURIs: req.GetRedirectUris(), PostLogoutRedirectURIs: req.GetPostLogoutRedirectUris(), Scopes: req.GetScopes(),
	})
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.CreateClientResponse{Client: oidcClient(c), ClientSecret: secret}, nil
}

func (s *AdminServer) ListClients(ctx context.Context, req *ssov1.ListClientsRequest) (*ssov1.ListClientsResponse, error) {
	if s.clients == nil {
		return s.UnimplementedAdminServiceServer.ListClients(ctx, req)
	}
	cs, err := s.clients.ListClients(ctx, bearer.Token(ctx))
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	resp := &ssov1.ListClientsResponse{Clients: make([]*ssov1.OIDCClient, len(cs))}
	for i, c := range cs {
		resp.Clients[i] = oidcClient(c)
	}
	return resp, nil
}

func (s *AdminServer) GetClient(ctx context.Context, req *ssov1.GetClientRequest) (*ssov1.GetClientResponse, error) {
	if s.clients == nil {
		return s.UnimplementedAdminServiceServer.GetClient(ctx, req)
	}
	c, err := s.clients.GetClient(ctx, bearer.Token(ctx), req.GetClientId())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.GetClientResponse{Client: oidcClient(c)}, nil
}

func (s *AdminServer) DeleteClient(ctx context.Context, req *ssov1.DeleteClientRequest) (*ssov1.DeleteClientResponse, error) {
	if s.clients == nil {
		return s.UnimplementedAdminServiceServer.DeleteClient(ctx, req)
	}
	if err := s.clients.DeleteClient(ctx, bearer.Token(ctx), req.GetClientId()); err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.DeleteClientResponse{}, nil
}

func (s *AdminServer) RotateClientSecret(ctx context.Context, req *ssov1.RotateClientSecretRequest) (*ssov1.RotateClientSecretResponse, error) {
	if s.clients == nil {
		return s.UnimplementedAdminServiceServer.RotateClientSecret(ctx, req)
	}
	secret, err := s.clients.RotateSecret(ctx, bearer.Token(ctx), req.GetClientId())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &ssov1.RotateClientSecretResponse{ClientSecret: secret}, nil
}

func oidcClient(c oidc.Client) *ssov1.OIDCClient {
	return &ssov1.OIDCClient{
		ClientId: c.ID, Name: c.Name, Confidential: c.Confidential, RedirectUris: c.RedirectURIs,
		PostLogoutRedirectUris: c.PostLogoutRedirectURIs, Scopes: c.Scopes, FirstParty: c.FirstParty,
		CreatedAt: timestamppb.New(c.CreatedAt),
	}
}
