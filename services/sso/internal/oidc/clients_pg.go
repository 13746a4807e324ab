package oidc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Clients stores registered clients and remembered consent in PostgreSQL
// (migration 0009 of the postgres package).
type Clients struct{ db *sqlx.DB }

// NewClients returns the store over the primary.
func NewClients(db *sqlx.DB) *Clients { return &Clients{db: db} }

const clientColumns = `id, name, confidential, secret_hash, redirect_uris, post_logout_redirect_uris, scopes, first_party, created_at`

func scanClient(row interface{ Scan(...any) error }) (Client, error) {
	var c Client
	err := row.Scan(&c.ID, &c.Name, &c.Confidential, &c.SecretHash, pq.Array(&c.RedirectURIs),
		pq.Array(&c.PostLogoutRedirectURIs), pq.Array(&c.Scopes), &c.FirstParty, &c.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Client{}, ErrClientNotFound
	}
	return c, err
}

// Create stores a new client.
func (s *Clients) Create(ctx context.Context, c Client) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO oidc_clients (`+clientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		c.ID, c.Name, c.Confidential, c.SecretHash, pq.Array(c.RedirectURIs), pq.Array(c.PostLogoutRedirectURIs),
		pq.Array(c.Scopes), c.FirstParty, c.CreatedAt)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	return nil
}

// Get returns a client, or ErrClientNotFound.
func (s *Clients) Get(ctx context.Context, id string) (Client, error) {
	c, err := scanClient(s.db.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM oidc_clients WHERE id = $1`, id))
	if err != nil && !errors.Is(err, ErrClientNotFound) {
		return Client{}, fmt.Errorf("get client: %w", err)
	}
	return c, err
}

// maxClients bounds a listing; registrations are made by hand, so more
// than this is a mistake worth paging for later, not now.
const maxClients = 1000

// List returns the clients, oldest first.
func (s *Clients) List(ctx context.Context) ([]Client, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+clientColumns+` FROM oidc_clients ORDER BY created_at, id LIMIT $1`, maxClients)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("list clients: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Delete removes a client and the consent given to it; ErrClientNotFound
// when there is none. Tokens already issued to it die with their sessions
// or expire: the token endpoint no longer knows the client.
func (s *Clients) Delete(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM oidc_clients WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete client: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrClientNotFound
	}
	return nil
}

// SetSecretHash replaces a confidential client's secret; ErrClientNotFound
// for an unknown or public client.
func (s *Clients) SetSecretHash(ctx context.Context, id, hash string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE oidc_clients SET secret_hash = $2 WHERE id = $1 AND confidential`, id, hash)
	if err != nil {
		return fmt.Errorf("rotate client secret: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrClientNotFound
	}
	return nil
}

// Consented reports whether the user's remembered consent to the client
// covers every scope of scopes.
func (s *Clients) Consented(ctx context.Context, userID, clientID string, scopes []string) (bool, error) {
	var granted []string
	err := s.db.QueryRowContext(ctx, `SELECT scopes FROM oidc_consents WHERE user_id = $1 AND client_id = $2`,
		userID, clientID).Scan(pq.Array(&granted))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read consent: %w", err)
	}
	for _, sc := range scopes {
		if !slices.Contains(granted, sc) {
			return false, nil
		}
	}
	return true, nil
}

// Consent remembers the user's consent to scopes, added to what was
// granted before.
func (s *Clients) Consent(ctx context.Context, userID, clientID string, scopes []string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO oidc_consents (user_id, client_id, scopes) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, client_id) DO UPDATE SET granted_at = now(),
		scopes = ARRAY(SELECT DISTINCT unnest(oidc_consents.scopes || EXCLUDED.scopes) ORDER BY 1)`,
		userID, clientID, pq.Array(scopes))
	if err != nil {
		return fmt.Errorf("store consent: %w", err)
	}
	return nil
}
