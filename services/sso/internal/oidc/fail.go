package oidc

import (
	"context"
	"fmt"
	"net/url"
)

// failCodes are the errors the hosted pages may end a request with, and
// what each tells the client (OpenID Connect Core, section 3.1.2.6).
var failCodes = map[string]string{
	"access_denied":              "the user denied the request",
	"login_required":             "prompt=none, and the user is not signed in",
	"consent_required":           "prompt=none, and the user has not consented",
	"interaction_required":       "prompt=none, and the user would have to act",
	"account_selection_required": "prompt=none, and the user would have to choose an account",
}

// Fail implements Flows: it ends the request with one of failCodes (the
// errors of a request with prompt=none that cannot be answered without
// the user, or access_denied) and returns the client's redirect URL
// carrying it.
func (p *Provider) Fail(ctx context.Context, id, code string) (string, error) {
	desc, ok := failCodes[code]
	if !ok {
		return "", fmt.Errorf("oidc: %q is not an error a request ends with", code)
	}
	req, _, err := p.request(ctx, id)
	if err != nil {
		return "", err
	}
	if err := p.reqs.rdb.Del(ctx, p.reqs.reqKey(id)).Err(); err != nil {
		return "", fmt.Errorf("redis: %w", err)
	}
	u, err := url.Parse(req.RedirectURI)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("error", code)
	q.Set("error_description", desc)
	if req.State != "" {
		q.Set("state", req.State)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}
