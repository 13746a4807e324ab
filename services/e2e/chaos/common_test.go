//go:build chaos

package chaos_test

import (
	"net/url"
	"os"
)

// ssoURL is the base URL of the running sso the load is sent to
// (CHAOS_SSO_URL), the stack's by default.
var ssoURL = env("CHAOS_SSO_URL", "http://127.0.0.1:8000")

// password is every load account's password: long enough for the policy,
// not on its list of common passwords.
const password = "correct horse battery staple"

// env returns the environment variable name, or def when it is unset or
// empty.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// ssoHostPort is ssoURL's host:port, for testenv.Require.
func ssoHostPort() string {
	u, err := url.Parse(ssoURL)
	if err != nil || u.Host == "" {
		return ssoURL
	}
	return u.Host
}
