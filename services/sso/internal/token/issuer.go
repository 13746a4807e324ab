package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultTTL is the access-token lifetime the design calls for; [NewIssuer]
// uses it when given none.
const DefaultTTL = 15 * time.Minute

// Leeway is how far a verifier's clock may be from the issuer's before exp,
// nbf and iat are held against a token. It absorbs skew between sso
// replicas and other verifiers, and is small beside [DefaultTTL].
const Leeway = 30 * time.Second

// maxTokenLen bounds the input Verify will parse. A token of ours is a few
// hundred bytes; anything far larger is refused before it costs base64 and
// JSON decoding.
const maxTokenLen = 8 << 10

// typ is the JWT type header every token carries and Verify requires, so a
// JWT of another kind signed by the same key is not taken for an access
// token (RFC 8725 §3.11).
const typ = "JWT"

// The reasons Verify gives, each wrapped together with ErrInvalid.
var (
	errTooLong       = errors.New("too long")
	errMalformed     = errors.New("malformed")
	errAlgorithm     = errors.New("algorithm not allowed")
	errType          = errors.New("wrong type")
	errCritical      = errors.New("unsupported critical header")
	errNoKeyID       = errors.New("missing key id")
	errUnknownKey    = errors.New("unknown key id")
	errSignature     = errors.New("bad signature")
	errExpired       = errors.New("expired")
	errNotYetValid   = errors.New("not valid yet")
	errIssuer        = errors.New("wrong issuer")
	errAudience      = errors.New("wrong audience")
	errMissingClaim  = errors.New("missing required claim")
	errInvalidClaims = errors.New("invalid claims")
)

// Issuer signs access tokens with the active key of its [KeySet] and
// verifies them against every key the set publishes. It is safe for
// concurrent use.
type Issuer struct {
	keys   *KeySet
	issuer string
	ttl    time.Duration
	now    func() time.Time
	parser *jwt.Parser
	// audience is what the tokens are for (aud): Issue writes it, and Verify
	// requires a token to name at least one of its entries.
	audience []string
	// verified, if set, skips the signature check for tokens verified
	// before; see [VerifiedCache].
	verified *VerifiedCache
}

// IssuerOption configures an [Issuer].
type IssuerOption func(*Issuer)

// WithClock makes the Issuer read the time from now instead of time.Now,
// both to stamp the tokens it issues and to judge the ones it verifies. A
// nil now keeps time.Now.
func WithClock(now func() time.Time) IssuerOption {
	return func(i *Issuer) {
		if now != nil {
			i.now = now
		}
	}
}

// WithAudience sets the audience (aud) of the tokens the Issuer issues and
// makes Verify refuse a token that names none of aud: a token minted for
// another service, by the same keys, is not accepted here. Without it
// tokens carry no aud and Verify does not check one.
func WithAudience(aud ...string) IssuerOption {
	return func(i *Issuer) { i.audience = append([]string(nil), aud...) }
}

// NewIssuer returns an Issuer that signs tokens as issuer (the iss claim,
// which Verify requires to match exactly), valid for ttl ([DefaultTTL] if
// ttl is not positive).
func NewIssuer(keys *KeySet, issuer string, ttl time.Duration, opts ...IssuerOption) *Issuer {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	i := &Issuer{keys: keys, issuer: issuer, ttl: ttl, now: time.Now}
	for _, o := range opts {
		o(i)
	}
	// The parser is built last: it keeps the clock an option may have set.
	popts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(i.now),
		jwt.WithStrictDecoding(),
	}
	if len(i.audience) > 0 {
		popts = append(popts, jwt.WithAudience(i.audience...))
	}
	i.parser = jwt.NewParser(popts...)
	return i
}

// wireClaims is the JSON payload of an access token. It spells out the
// registered claims rather than embedding jwt.RegisteredClaims because
// jwt.NumericDate decodes each date through a nested json.Unmarshal and a
// float, 8% of sso's CPU in a profile of Validate under load; [seconds]
// reads the integer directly.
type wireClaims struct {
	Issuer  string `json:"iss,omitempty"`
	Subject string `json:"sub,omitempty"`
	// Audience is a string or an array of strings (RFC 7519 §4.1.3).
	Audience jwt.ClaimStrings `json:"aud,omitempty"`
	ID       string           `json:"jti,omitempty"`
	Email    string           `json:"email,omitempty"`
	// EmailVerified is OpenID Connect's claim of the same name.
	EmailVerified bool    `json:"email_verified"`
	Admin         bool    `json:"admin"`
	SessionID     string  `json:"sid,omitempty"`
	IssuedAt      seconds `json:"iat"`
	NotBefore     seconds `json:"nbf"`
	ExpiresAt     seconds `json:"exp"`
}

// Validate requires what Claims cannot do without: a subject to name the
// user, a jti to revoke the token by, and its issue time. The parser calls
// it after checking the registered claims.
func (c *wireClaims) Validate() error {
	switch {
	case c.Subject == "":
		return fmt.Errorf("%w: sub", jwt.ErrTokenRequiredClaimMissing)
	case c.ID == "":
		return fmt.Errorf("%w: jti", jwt.ErrTokenRequiredClaimMissing)
	case !c.IssuedAt.set:
		return fmt.Errorf("%w: iat", jwt.ErrTokenRequiredClaimMissing)
	}
	return nil
}

// The jwt.Claims methods, through which the parser checks exp, nbf, iat and
// iss. An absent time is a nil date, which the parser treats as absent.

func (c *wireClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt.date(), nil }
func (c *wireClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore.date(), nil }
func (c *wireClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt.date(), nil }
func (c *wireClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *wireClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *wireClaims) GetAudience() (jwt.ClaimStrings, error)       { return c.Audience, nil }

// seconds is a JWT NumericDate (RFC 7519 §2): seconds since the Unix epoch.
// Tokens we issue carry whole seconds; a fraction, which the RFC allows, is
// truncated. set tells an absent claim from the epoch.
type seconds struct {
	unix int64
	set  bool
}

func at(t time.Time) seconds { return seconds{unix: t.Unix(), set: true} }

func (s seconds) time() time.Time { return time.Unix(s.unix, 0).UTC() }

func (s seconds) date() *jwt.NumericDate {
	if !s.set {
		return nil
	}
	return jwt.NewNumericDate(s.time())
}

// maxSeconds bounds a date to what time.Time and the parser's comparisons
// handle without overflow: the year 10,000 is far beyond any token's life.
const maxSeconds = 253402300799

func (s seconds) MarshalJSON() ([]byte, error) {
	if !s.set {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, s.unix, 10), nil
}

func (s *seconds) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = seconds{}
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > maxSeconds {
			return fmt.Errorf("numeric date %.20q: not a number of seconds", b)
		}
		n = int64(f)
	}
	if n < -maxSeconds || n > maxSeconds {
		return fmt.Errorf("numeric date %d: out of range", n)
	}
	*s = seconds{unix: n, set: true}
	return nil
}

// Issue signs an access token for c's subject, e-mail, admin flag and
// session. It sets a fresh random ID and the issue and expiry times (to the
// second, as the token carries them), and returns the token with the
// completed claims; any ID or times in c are replaced.
func (i *Issuer) Issue(c Claims) (string, Claims, error) {
	if c.Subject == "" {
		return "", Claims{}, errors.New("issue token: no subject")
	}
	now := time.Unix(i.now().Unix(), 0).UTC()
	k, ok := i.keys.signer(now)
	if !ok {
		return "", Claims{}, errors.New("issue token: no key signs yet")
	}
	c.ID = newID()
	c.IssuedAt = now
	c.NotBefore = now
	c.ExpiresAt = now.Add(i.ttl)

	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, &wireClaims{
		Issuer:        i.issuer,
		Subject:       c.Subject,
		Audience:      i.audience,
		ID:            c.ID,
		Email:         c.Email,
		EmailVerified: c.EmailVerified,
		Admin:         c.Admin,
		SessionID:     c.SessionID,
		IssuedAt:      at(c.IssuedAt),
		NotBefore:     at(c.NotBefore),
		ExpiresAt:     at(c.ExpiresAt),
	})
	t.Header["kid"] = k.kid
	raw, err := t.SignedString(k.priv)
	if err != nil {
		return "", Claims{}, fmt.Errorf("issue token: %w", err)
	}
	return raw, c, nil
}

// Verify checks that raw is an EdDSA-signed JWT of type JWT from a key the
// set publishes (chosen by kid), issued by this issuer and within its
// lifetime (give or take [Leeway]), with sub, jti, iat and exp present. It
// returns the token's claims, or an error wrapping [ErrInvalid] with a short
// reason. It does not know about revocation: that is the caller's check.
func (i *Issuer) Verify(raw string) (Claims, error) {
	if len(raw) > maxTokenLen {
		return Claims{}, invalid(errTooLong)
	}
	if i.verified == nil {
		return i.verify(raw)
	}
	key := sha256.Sum256([]byte(raw))
	if c, ok := i.verified.get(key); ok {
		// Verified in full before; only the clock can have changed since,
		// forwards or back. Judged exactly as the parser does: expired from
		// exp + Leeway, not valid yet (nbf, iat) until they are past
		// now + Leeway.
		now := i.now()
		if !now.Before(c.ExpiresAt.Add(Leeway)) {
			return Claims{}, invalid(errExpired)
		}
		if soon := now.Add(Leeway); soon.Before(c.NotBefore) || soon.Before(c.IssuedAt) {
			return Claims{}, invalid(errNotYetValid)
		}
		return c, nil
	}
	c, err := i.verify(raw)
	if err == nil {
		i.verified.put(key, c)
	}
	return c, err
}

// verify is Verify without the cache.
func (i *Issuer) verify(raw string) (Claims, error) {
	var wc wireClaims
	t, err := i.parser.ParseWithClaims(raw, &wc, i.keyFor)
	if err != nil {
		return Claims{}, invalid(reason(t, err))
	}
	if wc.Issuer != i.issuer {
		// The parser checks iss only when an issuer is configured.
		return Claims{}, invalid(errIssuer)
	}
	return Claims{
		ID:            wc.ID,
		Subject:       wc.Subject,
		Email:         wc.Email,
		EmailVerified: wc.EmailVerified,
		Admin:         wc.Admin,
		SessionID:     wc.SessionID,
		IssuedAt:      wc.IssuedAt.time(),
		NotBefore:     wc.NotBefore.time(),
		ExpiresAt:     wc.ExpiresAt.time(),
	}, nil
}

// keyFor is the parser's key lookup; it runs once the algorithm is known to be
// EdDSA, and also checks the rest of the header.
func (i *Issuer) keyFor(t *jwt.Token) (any, error) {
	if v, ok := t.Header["typ"].(string); !ok || v != typ {
		return nil, errType
	}
	if _, ok := t.Header["crit"]; ok {
		// RFC 7515 §4.1.11: we understand no extension, so must refuse.
		return nil, errCritical
	}
	kid, ok := t.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, errNoKeyID
	}
	pub, ok := i.keys.publicKey(kid)
	if !ok {
		return nil, errUnknownKey
	}
	return pub, nil
}

// reason turns a parser error into the one reason Verify reports.
func reason(t *jwt.Token, err error) error {
	for _, r := range []error{errType, errCritical, errNoKeyID, errUnknownKey} {
		if errors.Is(err, r) {
			return r
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return errMalformed
	case t != nil && t.Method != jwt.SigningMethodEdDSA:
		// Covers an unknown alg, "none", and every alg we do not accept.
		return errAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return errSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return errExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return errNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return errIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return errAudience
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return errMissingClaim
	}
	return errInvalidClaims
}

func invalid(reason error) error { return fmt.Errorf("%w: %w", ErrInvalid, reason) }

// newID returns a random 128-bit token id, base64url without padding.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return base64.RawURLEncoding.EncodeToString(b[:])
}
