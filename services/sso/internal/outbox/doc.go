// Package outbox publishes the events sso writes to its transactional
// outbox (the outbox table, see package postgres) to Kafka, at least once.
//
// # How a row moves
//
// The user store (postgres.Users.Create) writes a user and its
// UserRegistered row (status inProgress, attempts 0) in one statement; the
// account changes write their events.v1.AccountEvent rows (AccountEvents,
// one event_type per kind, all on the account events topic) in their own
// transactions the same way. The
// row is the Record that UserRegistered builds: the event's shape lives
// here, and the store only knows how to write a Record. Right after the
// commit the record is handed to Relay.Enqueue, which only queues it in
// memory: the request never waits for Kafka. The relay serializes the event through the Schema
// Registry and gives it to an idempotent producer (acks=all); a goroutine
// reading the producer's delivery reports then sets the row
//
//	successful  delivered (last_error and next_attempt_at cleared), or
//	failed      not delivered: attempts counts the attempt, last_error says
//	            why, next_attempt_at = now + backoff(attempts).
//
// Every Config.SweepInterval a sweeper claims, in one statement with FOR
// UPDATE SKIP LOCKED, a batch of inProgress rows untouched for longer than
// Config.StaleAfter (their process crashed, or its in-memory queue was
// full) and then of failed rows whose next_attempt_at has passed, sets them
// inProgress again with updated_at = now and attempts + 1, and publishes
// them. The refreshed
// updated_at keeps every other sso process (and this one) from claiming
// them again until they are stale once more, so a row is published by one
// process at a time.
//
// attempts is therefore the number of publishes the table knows of: a
// sweeper claim counts one when it claims; the publish right after commit
// is counted when it settles. A delivery report only changes a row its
// publish still owns: a failure applies only while the row is inProgress
// with the attempts value it was published with (a later claim has moved
// it on), and a success applies whenever the row is not yet successful
// (the event is in Kafka, whoever published it). Nothing ever turns a
// successful row back.
//
// # Guarantees
//
// Every committed row is published until a delivery succeeds, even when
// Kafka or the Schema Registry is down when the user registers, or sso
// stops between the commit and the delivery: at least once. A row can be
// published twice (a delivery whose report is lost, a publish slower than
// StaleAfter), so consumers deduplicate on the event id, which travels in
// the event and in the event_id header. Kafka being down never fails a
// registration and never makes sso unready; the relay logs when deliveries
// start failing and when they recover.
//
// # Tracing
//
// Each row keeps the W3C trace context of the registration request. The
// producer span ("<topic> publish", see otelkafka) is started as its child
// and ended with the delivery report, and its context travels in the
// message headers, so the consumers continue the registration's trace.
package outbox
