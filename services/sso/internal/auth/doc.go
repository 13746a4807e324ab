// Package auth holds the sso use cases: register, log in, refresh, log out,
// validate, the user queries, and the account life cycle (e-mail
// verification, forgotten and changed passwords, in account.go). It owns the rules (who may do what, when a
// token is dead) and declares, as small interfaces, what it needs from the
// outside: user storage, token state, throttling counters, password hashing
// and token signing. Adapters in sibling packages implement them.
package auth
