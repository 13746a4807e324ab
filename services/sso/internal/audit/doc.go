// Package audit is sso's record of who did what to whom: the entries the
// use cases write for every administrative action and security event, and
// the questions an administrator asks of the log.
//
// An entry holds ids only, never an e-mail address or a name, because the
// log outlives the accounts it names: after a deletion its entries say that
// an id existed and what was done to it, which nobody can tie to a person
// without another record, and which sso keeps for the retention period as a
// legitimate interest (the security of the service and proof of what its
// administrators did).
//
// Entries travel as events.v1.AuditEvent through sso's outbox, in the
// transaction of the change they record when there is one, to the audit
// topic; sso consumes that topic into its audit_events table, which the
// admin API reads. The log is therefore as durable as the outbox, and an
// entry becomes visible a moment after its action, not in the same
// instant.
package audit
