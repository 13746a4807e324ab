package oidc

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Client is an application registered to sign its users in through sso.
type Client struct {
	ID   string
	Name string
	// Confidential clients authenticate at the token endpoint with their
	// secret; public ones (single-page and native apps, which cannot keep
	// one) must prove the code with PKCE S256 instead.
	Confidential bool
	// SecretHash is hashSecret of the secret, empty for a public client.
	SecretHash             string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// Scopes are the scopes the client may ask for ("openid" always).
	Scopes []string
	// FirstParty clients are our own applications: the user is not asked
	// to consent. Third-party ones ask once per user and set of scopes.
	FirstParty bool
	CreatedAt  time.Time
}

// Errors of client registration.
var (
	ErrClientNotFound = errors.New("oidc: client not found")
	ErrInvalidClient  = errors.New("oidc: invalid client")
)

// SupportedScopes are the scopes the provider knows: openid, the e-mail
// claims and refresh tokens (offline_access).
var SupportedScopes = []string{"openid", "email", "offline_access"}

// NewClient checks a registration and fills in a random id and, for a
// confidential client, a secret, returned once: only its hash is kept.
func NewClient(name string, confidential, firstParty bool, redirects, postLogout, scopes []string) (Client, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return Client{}, "", fmt.Errorf("%w: name must be 1 to 200 characters", ErrInvalidClient)
	}
	if len(redirects) == 0 {
		return Client{}, "", fmt.Errorf("%w: at least one redirect URI is required", ErrInvalidClient)
	}
	for _, uris := range [][]string{redirects, postLogout} {
		if len(uris) > 20 {
			return Client{}, "", fmt.Errorf("%w: at most 20 URIs of each kind", ErrInvalidClient)
		}
		for _, u := range uris {
			if err := checkRedirect(u); err != nil {
				return Client{}, "", err
			}
		}
	}
	if len(scopes) == 0 {
		scopes = []string{"openid", "email"}
	}
	for _, s := range scopes {
		if !slices.Contains(SupportedScopes, s) {
			return Client{}, "", fmt.Errorf("%w: unknown scope %q (supported: %s)", ErrInvalidClient, s, strings.Join(SupportedScopes, " "))
		}
	}
	if !slices.Contains(scopes, "openid") {
		scopes = append([]string{"openid"}, scopes...)
	}
	// 26 characters of base32 (A-Z, 2-7; 130 bits): unlike base64url, an
	// id never starts with "-", so it passes safely as a command-line
	// argument (sso clients delete ID, or a relying party's own tool).
	id := rand.Text()
	c := Client{
		ID: id, Name: name, Confidential: confidential, FirstParty: firstParty,
		RedirectURIs: slices.Compact(slices.Clone(redirects)), PostLogoutRedirectURIs: slices.Clone(postLogout),
		Scopes: slices.Compact(scopes), CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
	}
	if c.PostLogoutRedirectURIs == nil {
		c.PostLogoutRedirectURIs = []string{}
	}
	var secret string
	if confidential {
		var err error
		if secret, err = randomString(32); err != nil {
			return Client{}, "", err
		}
		c.SecretHash = hashSecret(secret)
	}
	return c, secret, nil
}

// checkRedirect accepts an absolute http(s) URI without a fragment (OAuth
// 2.0, section 3.1.2); http only for loopback hosts, where a developer's
// machine has nothing to intercept.
func checkRedirect(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Fragment != "" || len(raw) > 2000 {
		return fmt.Errorf("%w: redirect URI %q must be an absolute URI without a fragment", ErrInvalidClient, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%w: redirect URI %q must be https (http only on a loopback host)", ErrInvalidClient, raw)
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// NewSecret returns a fresh secret and its hash, for a secret rotation.
func NewSecret() (secret, hash string, err error) {
	secret, err = randomString(32)
	return secret, hashSecret(secret), err
}

// hashSecret is SHA-256: a client secret is 32 random bytes, so unlike a
// password nothing is gained by a slow hash (2^256 guesses is the bar
// already), while the token endpoint checks it on every call.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SecretMatches compares in constant time.
func (c Client) SecretMatches(secret string) bool {
	if !c.Confidential || c.SecretHash == "" || secret == "" {
		return false
	}
	h := hashSecret(secret)
	return subtle.ConstantTimeCompare([]byte(h), []byte(c.SecretHash)) == 1
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
