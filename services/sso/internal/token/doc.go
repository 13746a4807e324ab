// Package token signs and verifies sso's access tokens and makes its
// refresh tokens.
//
// # Access tokens
//
// An access token is a JWT signed with Ed25519 (alg EdDSA, RFC 8037). Its
// header names the signing key by kid, the key's RFC 7638 JWK thumbprint, so
// any service can verify it against the public keys sso publishes as a JWK
// Set ([KeySet.JWKS], served by package httpapi) without sharing a secret. [Issuer] signs with the
// active key of a [KeySet] and verifies against every key the set publishes.
//
// # Key directory
//
// Signing keys live in one directory, one PKCS#8 PEM file per key, named by
// the UTC instant from which the key signs, in the form
// 2026-11-26T190000Z.pem (no colons, so the names are valid Kubernetes
// secret keys and Windows file names). [LoadDir] reads every *.pem file; the
// key with the latest instant that is not in the future signs, all others
// only verify. A key whose instant is still in the future is published but
// does not sign yet: that is how a new key reaches every replica and every
// JWKS cache before the first token carries it. Any other *.pem name is an
// error rather than a key silently ignored.
//
// All sso replicas must read the same directory: in production it is one
// mounted secret, written by the operator (or `sso keys rotate`); locally,
// [EnsureDir] creates a first key on the first start so nothing has to be
// set up.
//
// # Rotation
//
//  1. Add a key: [RotateAt] with an instant at least the JWKS cache lifetime
//     (five minutes) plus the time a rolling restart takes in the future
//     ([Rotate] makes it sign at once, fine for one replica).
//  2. Restart the replicas before that instant; they publish the new key and
//     keep signing with the old one, then all switch at the instant.
//  3. Keep the old file for at least one access-token lifetime plus the JWKS
//     cache lifetime after the switch, so tokens it signed still verify; then
//     delete it and restart. Nothing here deletes keys: every file in the
//     directory is published, and removing old files is the operator's job.
//
// # Refresh tokens
//
// A refresh token is an opaque random string; the server stores only its
// SHA-256 ([NewRefresh], [HashRefresh]).
package token
