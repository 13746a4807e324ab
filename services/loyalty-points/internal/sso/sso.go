// Package sso authenticates loyalty-points' callers with the sso service:
// each access token is checked by sso's gRPC Validate, so a token revoked
// by a logout stops working here at once. It implements
// ledger.Authenticator.
package sso

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ssov1 "github.com/ssokit/platform/libs/gen/sso/v1"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
)

// Authenticator asks sso who an access token belongs to.
type Authenticator struct {
	client  ssov1.AuthServiceClient
	timeout time.Duration
}

var _ ledger.Authenticator = (*Authenticator)(nil)

// NewAuthenticator returns an Authenticator calling sso over conn; each call
// waits at most timeout (less if the caller's deadline is nearer). The
// connection should carry the OpenTelemetry client stats handler, so that
// sso's span joins the caller's trace.
func NewAuthenticator(conn grpc.ClientConnInterface, timeout time.Duration) *Authenticator {
	return &Authenticator{client: ssov1.NewAuthServiceClient(conn), timeout: timeout}
}

// Authenticate returns the caller token was issued to. A token sso does not
// accept is ledger.ErrInvalidToken; when sso cannot be asked (down, too
// slow, failing) the error wraps ledger.ErrAuthUnavailable; when the
// caller's own context ends first, it is the context's error.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (ledger.Caller, error) {
	cctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	resp, err := a.client.Validate(cctx, &ssov1.ValidateRequest{Token: token})
	if err != nil {
		if err := callerDone(ctx); err != nil {
			return ledger.Caller{}, err
		}
		if status.Code(err) == codes.InvalidArgument {
			// sso refuses to consider the token at all (it is empty).
			return ledger.Caller{}, ledger.ErrInvalidToken
		}
		return ledger.Caller{}, fmt.Errorf("%w: sso validate: %w", ledger.ErrAuthUnavailable, err)
	}
	if !resp.GetValid() {
		return ledger.Caller{}, ledger.ErrInvalidToken
	}
	if resp.GetUserId() == "" {
		return ledger.Caller{}, errors.New("sso: a valid token without a user id")
	}
	return ledger.Caller{UserID: resp.GetUserId(), Admin: resp.GetIsAdmin()}, nil
}

// callerDone returns the error of the caller's context when it has ended,
// or its deadline has passed: gRPC may report the deadline a moment before
// the context's own timer fires.
func callerDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}
