// Package oidc is sso's OpenID Connect provider: the op.Storage behind
// zitadel/oidc's certified protocol handlers (discovery, authorize, token,
// userinfo, revocation, introspection, end_session), the registered clients,
// the short-lived authorization requests and codes, and remembered consent.
//
// The hosted pages (login, consent, logout) live in httpapi and talk to this
// package only through Flows, so the pages never see protocol details and the
// provider never renders HTML.
package oidc

import (
	"context"
	"errors"
	"time"
)

// ErrRequestNotFound is returned for an authorization request that is
// unknown, already used or expired. The pages show one generic error for all
// three, so a guessed id reveals nothing.
var ErrRequestNotFound = errors.New("oidc: authorization request not found")

// LoginRequest is a pending authorization request, as the hosted pages show it.
type LoginRequest struct {
	ID, ClientID, ClientName string
	Scopes                   []string
	Prompt                   []string // "none", "login", "consent", "select_account"
	MaxAge                   *time.Duration
	LoginHint                string
	NeedsConsent             bool // third-party client and no remembered consent covers Scopes
}

// Flows is what the hosted pages need from the provider while a browser is
// between the client's authorize redirect and the provider's callback.
type Flows interface {
	// LoginRequest returns the pending request; ErrRequestNotFound when unknown/expired.
	LoginRequest(ctx context.Context, id string) (LoginRequest, error)
	// CompleteLogin binds the request to the user's provider session (sid = an
	// auth.Sessions session id started by the hosted login) and returns the URL
	// to send the browser to (the op's authorize callback).
	CompleteLogin(ctx context.Context, id, userID, sid string, authTime time.Time, amr []string) (string, error)
	// GrantConsent remembers the user's consent for the client and scopes.
	GrantConsent(ctx context.Context, id, userID string) error
	// Deny ends the request with access_denied and returns the client's redirect URL.
	Deny(ctx context.Context, id string) (string, error)
}
