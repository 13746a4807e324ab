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
//
// The sequence, as Provider implements it: the op sends the browser to
// /login?authRequestID=ID; the page shows LoginRequest(ID), signs the user
// in (an auth.Sessions session, its sid) and calls CompleteLogin. For a
// first-party client, or a user whose remembered consent covers the
// scopes, the URL returned is the op's callback, which issues the code.
// Otherwise the request is bound to the user but not finished, and the URL
// is /consent?authRequestID=ID (ConsentPath): LoginRequest(ID) then says
// NeedsConsent, GrantConsent(ID, userID) records the consent, and calling
// CompleteLogin again returns the callback (Deny instead returns the
// client's redirect URI with access_denied). CompleteLogin refuses a sid
// that is not a live session of userID. Every method answers
// ErrRequestNotFound for an unknown, expired, finished or denied request.
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
	// Fail ends the request with an OpenID Connect error code
	// (login_required for prompt=none without a session, and the like)
	// and returns the client's redirect URL carrying it.
	Fail(ctx context.Context, id, code string) (string, error)
}
