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
//   - Never blocked forever, never dropped. A failing handler is retried in
//     process with exponential backoff and jitter (Metadata.Attempt counts
//     1..MaxAttempts); after MaxAttempts, or at once for an error wrapping
//     ErrPermanent, or for a value that cannot be deserialized (poison), the
//     original key, value and headers go to the dead-letter topic with
//     dlq.* headers saying why, and the partition moves on. If the
//     dead-letter write itself fails, it is retried with backoff and the
//     offset is not committed meanwhile.
//   - In order. Messages are processed one at a time, in partition order,
//     and a retrying message holds up the messages behind it in its
//     partition. That is simple and ample for registration events; scale
//     out with partitions and group members, not with goroutines inside one
//     member. Offsets are not committed one by one: a synchronous commit per
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
// Prometheus implementation (kafka_consumer_* by group and topic).
//
// # Kafka settings
//
// enable.auto.commit=true with enable.auto.offset.store=false (the client
// commits only offsets the consumer stored, that is handled messages),
// auto.commit.interval.ms=CommitInterval, auto.offset.reset=earliest,
// enable.partition.eof=false, partition.assignment.strategy=cooperative-sticky
// (incremental rebalancing: a member joining or leaving does not stop the
// others), and max.poll.interval.ms large enough for MaxAttempts handler
// timeouts plus the whole backoff schedule, because the consumer does not
// poll while it retries one message. The dead-letter producer is idempotent
// with acks=all.
package consumer
