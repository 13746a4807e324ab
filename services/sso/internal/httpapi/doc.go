// Package httpapi is the part of sso's HTTP transport that the REST gateway
// does not generate: documents whose shape another standard fixes, served
// beside the gateway on the same port. Today that is the JWK Set verifiers
// fetch from /.well-known/jwks.json (RFC 7517, RFC 8414's jwks_uri).
package httpapi
