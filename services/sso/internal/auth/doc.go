// Package auth holds the sso use cases: register, log in, refresh, log out,
// validate, and the user queries. It owns the rules (who may do what, when a
// token is dead) and declares, as small interfaces, what it needs from the
// outside: user storage, token state, throttling counters, password hashing
// and token signing. Adapters in sibling packages implement them.
package auth
