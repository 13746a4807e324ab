// Package e2e holds the system tests: they build the three service
// binaries, run them as separate processes against the real PostgreSQL,
// Redis, Kafka, Schema Registry and Mailpit of deploy/local, and drive them
// as clients do (REST in; Kafka, SMTP, the databases and exported traces
// out). Each run uses its own databases, topic, consumer groups and Redis
// prefix, so its data never mixes with what `go tool task up` runs.
//
// The outage tests (every name containing Outage) are the exception on
// purpose: they stop the shared Kafka or Mailpit through deploy/local/stack
// and start it again when they finish, because surviving that is what they
// check. While one runs, every user of the local stack sees the outage too;
// skip them with `go test -skip Outage` on a stack others are using.
package e2e
