// Package pipeline measures the registration event pipeline of the
// running stack: how long after a user is stored the loyalty bonus is
// credited and the welcome mail is accepted by SMTP, and how fast sso's
// outbox relay drains a backlog once Kafka is back.
//
// Latencies are taken from timestamps the system records anyway, all on
// this machine's clock, so measuring adds no polling of the services under
// test: users.created_at in the sso database (set just before the user's
// insert commits), transactions.created_at of the WELCOME_BONUS in the
// loyalty database (clock_timestamp() of the credit), and the Created time
// Mailpit gives a message when SMTP accepts it. The one poll that does run
// during a measurement is Mailpit's message list, once a second, because
// Mailpit keeps only its newest 500 messages.
package pipeline

// Status says whether a measurement could be made.
const (
	StatusOK          = "ok"          // every event was followed to its end
	StatusPartial     = "partial"     // some were not, within the time allowed
	StatusUnavailable = "unavailable" // the part of the stack it needs is not there
)
