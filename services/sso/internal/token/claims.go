package token

import (
	"errors"
	"time"
)

// Claims are what an access token says about its bearer.
type Claims struct {
	// ID is the token's unique id (jti), the handle for revoking it.
	ID string
	// Subject is the user id (sub).
	Subject string
	Email   string
	// EmailVerified says whether the user had proved Email when the token
	// was issued (email_verified, as in OpenID Connect).
	EmailVerified bool
	Admin         bool
	// SessionID is the refresh-token family the token was issued from
	// (sid): the token is refused once that session has ended, by logout,
	// revocation or expiry.
	SessionID string
	// IssuedAt, NotBefore and ExpiresAt are iat, nbf and exp. A token
	// without nbf has the epoch, which is always past.
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresAt time.Time
}

// ErrInvalid is wrapped by every reason a token is refused: bad signature,
// unknown key, wrong algorithm, wrong issuer, expired, malformed.
var ErrInvalid = errors.New("invalid token")
