package oidc

import (
	"context"
	"fmt"
)

// Admin is the administrators' use cases on clients. Each first asks
// authorize, which refuses a caller that is not an administrator before
// the request is looked at (auth.Service.AuthorizeAdmin).
type Admin struct {
	clients   *Clients
	authorize func(ctx context.Context, accessToken string) error
}

// NewAdmin returns the use cases over clients.
func NewAdmin(clients *Clients, authorize func(ctx context.Context, accessToken string) error) *Admin {
	return &Admin{clients: clients, authorize: authorize}
}

// Registration is the input of CreateClient.
type Registration struct {
	Name                   string
	Confidential           bool
	FirstParty             bool
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Scopes                 []string
}

// CreateClient registers a client and returns it with its secret (empty
// for a public client), the only time the secret is shown.
func (a *Admin) CreateClient(ctx context.Context, accessToken string, r Registration) (Client, string, error) {
	if err := a.authorize(ctx, accessToken); err != nil {
		return Client{}, "", err
	}
	return Register(ctx, a.clients, r)
}

// Register registers a client without an administrator's token: for the
// `sso clients create` command, which holds the database credentials.
func Register(ctx context.Context, clients *Clients, r Registration) (Client, string, error) {
	c, secret, err := NewClient(r.Name, r.Confidential, r.FirstParty, r.RedirectURIs, r.PostLogoutRedirectURIs, r.Scopes)
	if err != nil {
		return Client{}, "", err
	}
	if err := clients.Create(ctx, c); err != nil {
		return Client{}, "", err
	}
	return c, secret, nil
}

// ListClients lists the clients, oldest first.
func (a *Admin) ListClients(ctx context.Context, accessToken string) ([]Client, error) {
	if err := a.authorize(ctx, accessToken); err != nil {
		return nil, err
	}
	return a.clients.List(ctx)
}

// GetClient returns a client or ErrClientNotFound.
func (a *Admin) GetClient(ctx context.Context, accessToken, id string) (Client, error) {
	if err := a.authorize(ctx, accessToken); err != nil {
		return Client{}, err
	}
	if !plausibleID(id) {
		return Client{}, ErrClientNotFound
	}
	return a.clients.Get(ctx, id)
}

// DeleteClient removes a client or answers ErrClientNotFound.
func (a *Admin) DeleteClient(ctx context.Context, accessToken, id string) error {
	if err := a.authorize(ctx, accessToken); err != nil {
		return err
	}
	if !plausibleID(id) {
		return ErrClientNotFound
	}
	return a.clients.Delete(ctx, id)
}

// RotateSecret gives a confidential client a new secret and returns it;
// the old one stops working at once.
func (a *Admin) RotateSecret(ctx context.Context, accessToken, id string) (string, error) {
	if err := a.authorize(ctx, accessToken); err != nil {
		return "", err
	}
	if !plausibleID(id) {
		return "", ErrClientNotFound
	}
	secret, hash, err := NewSecret()
	if err != nil {
		return "", err
	}
	if err := a.clients.SetSecretHash(ctx, id, hash); err != nil {
		return "", fmt.Errorf("rotate secret: %w", err)
	}
	return secret, nil
}

// plausibleID bounds what reaches the database: ids are 22 characters.
func plausibleID(id string) bool { return id != "" && len(id) <= 64 }
