// Package e2e holds the system tests: they build the three service
// binaries, run them as separate processes against the real PostgreSQL,
// Redis, Kafka, Schema Registry and Mailpit of deploy/local, and drive them
// as clients do (REST in; Kafka, SMTP, the databases and exported traces
// out). Each run uses its own databases, topic, consumer groups and Redis
// prefix, so it never disturbs the stack `go tool task up` runs.
package e2e
