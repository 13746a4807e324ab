// Package consumer runs a Kafka consumer group member that hands each
// Schema-Registry-encoded protobuf event to a typed Handler, with the
// delivery guarantees the event consumers of this system rely on:
//
//   - At least once. A message's offset is stored for commit only after
//     the handler succeeded or the message was written to the dead-letter
//     topic and the broker acknowledged it. Stored offsets are committed in
//     the background every Config.CommitInterval (1s), when partitions are
//     revoked, and on shutdown. A crash redelivers every message whose
//     offset was not committed yet, so handlers must be idempotent (the
//     services' ledgers make them so).
//   - Never dropped, never dead-lettered for an outage. A failing handler
//     is retried in process with exponential backoff and jitter, capped at
//     Config.MaxBackoff (30s); what happens next depends on the error's kind
//     (see "Failure kinds" below): a transient failure is retried until it
//     succeeds, a permanent one is dead-lettered at once, an unclassified
//     one after Config.MaxAttempts (8) such failures. A value that cannot be
//     deserialized (poison) is dead-lettered at once too. A dead letter is
//     the original key, value and headers, on the dead-letter topic, with
//     dlq.* headers saying why, and the partition moves on. If the
//     dead-letter write itself fails, it is retried with backoff and the
//     offset is not committed meanwhile. Replay moves dead letters back.
//   - In order. Messages are processed one at a time, in partition order,
//     and a retrying message holds up the messages behind it, in every
//     partition of the member (they are paused, see below). That is simple
//     and ample for registration events; scale out with partitions and
//     group members, not with goroutines inside one member. Offsets are not committed one by one: a synchronous commit per
//     message was, in the benchmark, three quarters of the broker's CPU
//     (0.25 of a core at 34 registrations/s against 0.07 with periodic
//     commits), and it is what the two cores needed for registrations.
//   - Traced. Each message is handled inside an otelkafka consumer span that
//     continues the producer's trace; the handler's ctx carries it, so its
//     logs and its database and SMTP calls join the trace. Failed attempts
//     are recorded on the span; a dead-lettered message sets it to Error.
//   - Graceful. Cancelling Run's context lets the in-flight handler finish
//     (its ctx is not cancelled by shutdown, so a half-sent e-mail is
//     completed), commits the stored offsets, and closes the consumer, which
//     leaves the group.
//     A retry backoff in progress is cut short instead, and that message is
//     left uncommitted for the next member of the group.
//
// # Failure kinds
//
// The handler says what a failure is by what its error wraps, checked in
// this order:
//
//   - ErrPermanent: the event itself can never be handled (a bad payload, a
//     failed validation, a recipient the mail server refuses for good).
//     Dead-lettered at once (reason "permanent").
//   - ErrTransient: a dependency is unreachable or busy (database down or
//     refusing connections, mail server unreachable or answering 4xx).
//     Retried without limit; see "Waiting for a dependency". The services'
//     adapters mark their outages so, and their handlers pass the mark on.
//   - Not marked, but a timeout (context.DeadlineExceeded: the handler's
//     ctx ran out, a dependency hung) or a net.Error (a connection that
//     failed): transient as well, so that an adapter that forgot to mark an
//     outage does not dead-letter every event of it. The price: a handler
//     that hangs on a bug also holds its partitions, timeout after timeout,
//     and kafka_consumer_paused says so.
//   - Anything else, panics included, is unclassified: it may be a bug
//     that no wait cures, and one that blocked the partition forever would
//     stop every event behind it. It is retried, and dead-lettered (reason
//     "exhausted") once the message has failed MaxAttempts times with such
//     errors; transient failures in between do not count. Mark what you
//     know: the bound is a safety net, not a policy.
//
// # Waiting for a dependency
//
// While a message waits between attempts (for any kind of failure, for the
// Schema Registry, or to retry a dead-letter write) the member pauses every
// partition assigned to it and keeps polling: it consumes nothing, but it
// stays in its group however long the outage lasts (a member that does not
// poll for max.poll.interval.ms is evicted and its partitions reassigned,
// which used to be why retries had to end), and it answers rebalances. A
// message that was fetched before the pause, or comes from a partition
// assigned since, is handed back (its partition is paused and rewound to
// it) and handled after the resume, in order. If the waiting message's own
// partition is revoked meanwhile, the member drops it uncommitted (outcome
// "revoked") and the partition's new owner takes it from the last commit.
// The delay doubles from InitialBackoff up to MaxBackoff, so a dependency
// that comes back is retried within MaxBackoff. Metadata.Attempt keeps
// counting. kafka_consumer_paused is 1 meanwhile, for alerting.
//
// # Replaying dead letters
//
// Replay (the services' "dlq replay" command) moves a group's dead letters
// back to the topic it consumes, once their cause is fixed: key, value and
// original headers, without the dlq.* headers, with HeaderReplays counting
// the replays, to the original partition. Its progress is the committed
// offset of the group ReplayGroup(group) on the dead-letter topic, which is
// committed only after the broker acknowledged the re-publication: at least
// once, so a crash mid-replay re-publishes some messages twice, and the
// idempotent handlers make the duplicate harmless.
//
// A value the registry cannot be reached for is not poison: deserialization
// is retried with backoff until the registry answers, without counting
// against MaxAttempts, because dead-lettering every message during a
// registry outage would be worse than waiting.
//
// # Dead-letter topic
//
// The default dead-letter topic is "<topic>.<group>.dlq" (DefaultDeadLetterTopic),
// one per consumer group: welcome-notifier and loyalty-points both consume
// the registration topic, and each must be able to replay its own failures
// without re-feeding the other. The local broker creates it on first use
// (auto.create.topics.enable); in production the operator creates it with the
// same retention as the source topic. Its messages carry the original
// headers plus DLQ headers (see HeaderError and the constants beside it).
//
// # Metrics
//
// Config.Observer is told what happens to each message and, every
// Config.LagInterval, the lag of the member's partitions (high watermark
// minus committed offset, measured from a goroutine of its own so that a
// message retried for minutes does not freeze it). Metrics.Observer is the
// Prometheus implementation (kafka_consumer_* by group and topic): among
// them the retries by kind (transient, unclassified) and
// kafka_consumer_paused, 1 while the member waits for a dependency.
//
// # Kafka settings
//
// enable.auto.commit=true with enable.auto.offset.store=false (the client
// commits only offsets the consumer stored, that is handled messages),
// auto.commit.interval.ms=CommitInterval, auto.offset.reset=earliest,
// enable.partition.eof=false, partition.assignment.strategy=cooperative-sticky
// (incremental rebalancing: a member joining or leaving does not stop the
// others), and max.poll.interval.ms at the handler timeout plus two
// minutes (at least Kafka's default 5 minutes): the consumer polls while it
// waits between attempts, so only one handler call and one dead-letter write
// fall between two polls; session.timeout.ms=SessionTimeout (10s), so a
// member that died is replaced within seconds rather than the client's
// default 45. The dead-letter producer is idempotent with acks=all.
package consumer
