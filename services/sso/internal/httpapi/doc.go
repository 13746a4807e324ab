// Package httpapi is the part of sso's HTTP transport that the REST gateway
// does not generate, served beside the gateway on the same port: documents
// whose shape another standard fixes (the JWK Set verifiers fetch from
// /.well-known/jwks.json, RFC 7517, RFC 8414's jwks_uri), the account
// pages a person opens from sso's mails (verify an e-mail address, choose a
// new password), which are HTML forms rather than JSON calls because a mail
// link is all the person has, and the OpenID Connect provider's hosted
// login (sign in, create an account, forgot password, consent, sign out),
// the pages applications send their users to, which is all an application
// needs: a person without an account or a password gets one there.
package httpapi
