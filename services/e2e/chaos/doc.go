// Package chaos holds the chaos tests: each kills a piece of the running
// infrastructure with SIGKILL under a steady load of registrations, logins
// and refreshes against the running services, measures what clients saw
// and checks what the design guarantees (nothing acknowledged is lost,
// nothing is applied twice, no 500s, a bounded gap). They need the stack
// and the services up (`go tool task up`) and root (to signal the
// infrastructure's processes), so they only build with the tag chaos:
//
//	go tool task test:chaos
//
// `go tool task test:chaos` runs every test but the Kafka one, which needs
// the three-broker profile: `go tool task test:chaos:kafka` brings that
// profile up and runs it, and on a single broker it fails.
//
// Each test logs its figures on lines starting with "CHAOS <name>:". The
// addresses default to the stack's; the environment overrides them (see
// each test), so the tests can run against a second copy of the stack on
// other ports.
package chaos
