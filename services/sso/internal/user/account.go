package user

import "time"

// Purpose says what a one-time token proves; it also names the token's
// purpose in sealbox.AAD.
type Purpose string

// The purposes of one-time tokens.
const (
	PurposeEmailVerification Purpose = "email-verification"
	PurposePasswordReset     Purpose = "password-reset"
)

// OneTimeToken is a random secret mailed to a user, which works once,
// before ExpiresAt, for one Purpose. Only Hash is stored; Raw exists in
// memory just long enough to be sealed into the event that carries it to
// the mail sender.
type OneTimeToken struct {
	Raw       string
	Hash      string
	UserID    string
	Purpose   Purpose
	ExpiresAt time.Time
}

// EventKind names an account event; it is also the event_type of its
// outbox row and Kafka message.
type EventKind string

// The kinds of account events, one per kind of events.v1.AccountEvent.
const (
	EventEmailVerificationRequested EventKind = "EmailVerificationRequested"
	EventEmailVerified              EventKind = "EmailVerified"
	EventPasswordResetRequested     EventKind = "PasswordResetRequested"
	EventPasswordChanged            EventKind = "PasswordChanged"
	// EventUserDeleted carries no e-mail: the account it names is gone.
	EventUserDeleted EventKind = "UserDeleted"
)

// PasswordChange says how a password was changed.
type PasswordChange int

// The ways a password changes.
const (
	PasswordChangeReset PasswordChange = iota + 1
	PasswordChangeByUser
)

// AccountEvent is something that happened to an account after its
// registration, stored with the change in the same transaction and
// published to the account events topic.
type AccountEvent struct {
	Kind   EventKind
	UserID string
	Email  string
	// Token is the one-time token the event carries (verification and
	// reset requests); it travels sealed, never in clear.
	Token *OneTimeToken
	// Method is how the password was changed (PasswordChanged).
	Method PasswordChange
}
