package welcome

import (
	"context"

	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
)

// Ledger remembers whether a mail went out: per user for the welcome,
// per event for the account mails (Delivery.Kind.PerEvent).
// ledgertest.Run is its contract as a test, passed by the PostgreSQL
// ledger and by the in-memory one the unit tests use.
type Ledger interface {
	// Once calls send unless d's mail (d.UserID's welcome, or d.EventID's
	// account mail) is recorded as sent, and records it as sent when send
	// returns nil. Calls for the same mail are serialized, so concurrent deliveries of one event (a consumer
	// group rebalancing mid-message) call send once. It returns Sent when
	// send succeeded and was recorded, AlreadySent when send was not
	// called. When send fails, its error is returned as is, after the
	// failed attempt has been counted where the store still answers. A
	// failure of the store itself that waiting cures (unreachable,
	// restarting) wraps ErrUnavailable. A
	// call whose ctx has ended before send returns an error wrapping
	// ctx's; once send has returned nil, the mail is recorded even if ctx
	// ends meanwhile, so a sent mail is not sent again.
	//
	// Once of a user that Erase has forgotten returns Erased without
	// calling send and records nothing.
	Once(ctx context.Context, d Delivery, send func(context.Context) error) (Outcome, error)
	// Erase forgets userID's address: every recorded mail of the user
	// keeps its ids and status (what exactly-once needs) but no longer the
	// address or a send error that may quote it, and the user is marked
	// erased so that no later Once sends to or records it (an event
	// written before the deletion and delivered after it). A call racing a
	// Once of the same user waits for it and then erases what it
	// recorded. Erasing twice is not an error. eventID is the UserDeleted
	// event's, kept for operators.
	Erase(ctx context.Context, userID, eventID string) error
}

// Delivery identifies one mail for the Ledger.
type Delivery struct {
	// Kind is the mail's kind; the zero value is a welcome.
	Kind    mail.Kind
	UserID  string // a UUID; the key of a welcome: one per user
	EventID string // a UUID; the event that asked for it, the key of an account mail
	// Email is the recipient. The ledger keeps it for operators; it is
	// never logged.
	Email     string
	MessageID string
}

// Outcome is what Ledger.Once did.
type Outcome int

const (
	// Sent means send was called and succeeded, and the mail is recorded.
	Sent Outcome = iota + 1
	// AlreadySent means the user's mail was recorded earlier; send was not
	// called.
	AlreadySent
	// Erased means the user was deleted (see Ledger.Erase); send was not
	// called.
	Erased
)

func (o Outcome) String() string {
	switch o {
	case Sent:
		return "sent"
	case AlreadySent:
		return "already sent"
	case Erased:
		return "erased"
	}
	return "unknown"
}

// Sender hands a message to the mail system. An error that errors.As finds
// to have a Permanent() bool method reporting true means the message can
// never be delivered (smtp.Error does); one with a Transient() bool method
// reporting true means the mail system cannot be reached or refuses us
// for now, and the same message will go once it is back; any other error
// is worth a few retries.
type Sender interface {
	Send(ctx context.Context, m mail.Message) error
}
