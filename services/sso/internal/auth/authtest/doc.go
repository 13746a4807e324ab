// Package authtest holds the contract suites of the auth ports (Users,
// Sessions, Throttle) and the in-memory fakes that pass them.
//
// A fake earns its place in a unit test only by behaving like the adapter
// it stands in for: each suite here runs against the fake in this
// package's tests and against the real PostgreSQL or Redis adapter in that
// adapter's integration tests, so a rule the use case relies on (a taken
// e-mail, a reused refresh token, a throttle window) cannot hold in one and
// not in the other.
package authtest
