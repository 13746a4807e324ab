// Package chaos holds the chaos tests: each kills a node of the running
// stack with SIGKILL under a steady load and checks what the product
// guarantees across the failover, reporting its figures in lines that
// start with "CHAOS <name>:". They need the build tag chaos and run with
// `go tool task test:chaos`, against the stack and services that `go tool
// task up` runs (or another instance, found through the same environment
// variables as the other tests plus CHAOS_SSO_HTTP). They disrupt
// whatever else uses that stack: never run them on a stack others use.
package chaos
