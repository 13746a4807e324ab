package audit

import (
	"errors"
	"time"
)

// Action is what an entry records. Its value is the name of the
// events.v1.AuditAction without the AUDIT_ACTION_ prefix, lowercased, and
// the action label of the audit metrics.
type Action string

// The actions sso records.
const (
	ActionUserDisabled      Action = "admin_user_disabled"
	ActionUserEnabled       Action = "admin_user_enabled"
	ActionRoleGranted       Action = "role_granted"
	ActionRoleRevoked       Action = "role_revoked"
	ActionSessionsRevoked   Action = "sessions_revoked"
	ActionUserDeleted       Action = "user_deleted"
	ActionLoginFailureBurst Action = "login_failure_burst"
	ActionRefreshTokenReuse Action = "refresh_token_reuse"
	ActionPasswordReset     Action = "password_reset"
	ActionPasswordChanged   Action = "password_changed"
)

// Actions lists every Action, for metrics that start at zero.
var Actions = []Action{
	ActionUserDisabled, ActionUserEnabled, ActionRoleGranted, ActionRoleRevoked, ActionSessionsRevoked,
	ActionUserDeleted, ActionLoginFailureBurst, ActionRefreshTokenReuse, ActionPasswordReset, ActionPasswordChanged,
}

// Known reports whether a is one of Actions.
func (a Action) Known() bool {
	for _, k := range Actions {
		if a == k {
			return true
		}
	}
	return false
}

// ActorKind says who acted; like Action, the lowercased proto name.
type ActorKind string

// The kinds of actor.
const (
	// KindUser is the target user acting on its own account.
	KindUser ActorKind = "user"
	// KindAdmin is an administrator acting on another account.
	KindAdmin ActorKind = "admin"
	// KindAnonymous is a client that did not authenticate.
	KindAnonymous ActorKind = "anonymous"
	// KindSystem is sso itself or an operator's command line.
	KindSystem ActorKind = "system"
)

// Actor is who acted: a user id for KindUser and KindAdmin, none
// otherwise.
type Actor struct {
	ID   string
	Kind ActorKind
}

// Self is the user id acting on its own account.
func Self(id string) Actor { return Actor{ID: id, Kind: KindUser} }

// Admin is the administrator id acting on another account.
func Admin(id string) Actor { return Actor{ID: id, Kind: KindAdmin} }

// Anonymous is an unauthenticated client.
func Anonymous() Actor { return Actor{Kind: KindAnonymous} }

// System is sso itself or an operator's command line (`sso admin grant`).
func System() Actor { return Actor{Kind: KindSystem} }

// Outcome says whether the recorded action took effect.
type Outcome string

// The outcomes.
const (
	OutcomeSuccess Outcome = "success"
	// OutcomeRefused: the attempt was refused (a throttled login, a
	// replayed refresh token).
	OutcomeRefused Outcome = "refused"
)

// Entry is one record of the log.
type Entry struct {
	// ID is the event id (a UUID), the log's key: a redelivered event is
	// stored once.
	ID         string
	OccurredAt time.Time
	Actor      Actor
	Action     Action
	// TargetID is the user acted on; empty when no account is known (a
	// burst of failed logins from one address).
	TargetID string
	// ClientAddress is the client's IP address; empty when unknown.
	ClientAddress string
	// TraceID is the W3C trace id of the request; empty when untraced.
	TraceID string
	Outcome Outcome
}

// Query selects entries for a page of the log, newest first. Zero fields
// do not filter.
type Query struct {
	// UserID matches entries whose target or actor is the user.
	UserID string
	// ActorID matches entries the user did.
	ActorID string
	Action  Action
	// Before is the last entry of the previous page: the page continues
	// strictly after it in (OccurredAt, ID) descending order.
	Before *Key
	Limit  int
}

// Key is a position in the log's order.
type Key struct {
	OccurredAt time.Time
	ID         string
}

// ErrUnavailable marks a failure of the log's store that waiting cures
// (the database down or failing over): the entry is retried, not given
// up on.
var ErrUnavailable = errors.New("audit log unavailable")
