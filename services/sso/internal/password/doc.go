// Package password decides which passwords sso accepts and how it stores
// them.
//
// Policy follows NIST SP 800-63B: a length window counted in Unicode code
// points, a blocklist of commonly used passwords, and no composition rules
// (no "one digit, one symbol"), because those make passwords harder to
// remember without making them harder to guess. A password over the
// maximum is refused, never silently truncated.
//
// Hasher stores passwords as argon2id PHC strings
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash), the format every argon2
// implementation reads, so the parameters travel with each hash and can be
// raised later: Verify reports when a stored hash uses outdated parameters
// and the caller re-hashes on the next successful login.
//
// Both apply Normalize (Unicode NFKC) to the password themselves, so the
// callers pass the password exactly as received. The same password typed on
// keyboards or input methods that produce different code points (a
// precomposed "é" versus "e" plus a combining accent, full-width digits)
// therefore counts the same against the policy and verifies against the
// same hash.
package password
