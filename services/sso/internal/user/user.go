// Package user is the sso domain model of an account: who a user is, how an
// e-mail address is normalized, and the errors the rest of the service uses
// to talk about users.
package user

import (
	"errors"
	"time"
)

// User is one account. Email is always normalized (see NormalizeEmail);
// PasswordHash is an argon2id PHC string, never the password.
type User struct {
	ID           string
	Email        string
	FullName     string
	PasswordHash string
	IsAdmin      bool
	CreatedAt    time.Time
	// EmailVerified says whether the user proved they receive mail at
	// Email, by a verification link.
	EmailVerified bool
	// Disabled says an administrator disabled the account: it cannot log
	// in or refresh until enabled again.
	Disabled bool
	// EventStatus is the delivery status of the UserRegistered event.
	EventStatus EventStatus
}

// EventStatus tracks the UserRegistered event of a user through the outbox.
type EventStatus string

// Outbox delivery states: written with the user, then settled by the
// producer's delivery report.
const (
	EventInProgress EventStatus = "inProgress"
	EventSuccessful EventStatus = "successful"
	EventFailed     EventStatus = "failed"
)

var (
	// ErrNotFound means no user matches.
	ErrNotFound = errors.New("user not found")
	// ErrEmailTaken means another account already uses the e-mail address.
	ErrEmailTaken = errors.New("email already registered")
	// ErrTokenInvalid means a one-time token is unknown, expired, already
	// used or superseded by a newer one: the caller cannot tell which.
	ErrTokenInvalid = errors.New("invalid or expired token")
)
