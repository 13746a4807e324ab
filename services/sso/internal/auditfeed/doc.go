// Package auditfeed fills sso's audit log from the audit topic: the
// consumer group's handler of events.v1.AuditEvent. It is a transport, like
// the gRPC handlers: it decodes, validates and hands each entry to the
// store, which keeps one row per event id, so a redelivery changes
// nothing.
//
// sso consumes its own topic, rather than writing the log in the
// transaction of each action, so the log is fed the way any other reader
// of the topic would be (one path, one schema, tested by the same events
// the other services could read), and an action never waits on, nor fails
// for, the log's table.
package auditfeed
