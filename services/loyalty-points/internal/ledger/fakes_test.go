package ledger_test

import (
	"context"

	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
)

// fakeAuth accepts the tokens it knows; err, when set, is what sso "says"
// to every token.
type fakeAuth struct {
	callers map[string]ledger.Caller
	err     error
	calls   int
}

func (a *fakeAuth) Authenticate(_ context.Context, token string) (ledger.Caller, error) {
	a.calls++
	if a.err != nil {
		return ledger.Caller{}, a.err
	}
	c, ok := a.callers[token]
	if !ok {
		return ledger.Caller{}, ledger.ErrInvalidToken
	}
	return c, nil
}
