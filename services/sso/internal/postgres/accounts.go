package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/pgerr"
	"github.com/ssokit/platform/libs/sealbox"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/user"
)

var _ auth.Accounts = (*Users)(nil)

// WithAccountEvents has Users write account events, built by fn, with the
// account changes they announce (see auth.Accounts).
func WithAccountEvents(fn outbox.AccountEventFunc) Option {
	return func(u *Users) { u.account = fn }
}

// errNoAccountEvents is returned by the account methods of a Users built
// without WithAccountEvents: a change without its event would never be
// announced.
var errNoAccountEvents = errors.New("postgres: account events are not configured")

// The statements of the account life cycle. Token hashes travel as hex and
// are stored as the 32 bytes they encode.
const (
	// supersedeTokens ends the user's unused tokens of a purpose, so that
	// only the newest mailed link works.
	supersedeTokens = `UPDATE one_time_tokens SET used_at = now()
	WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL`

	insertToken = `INSERT INTO one_time_tokens (hash, user_id, purpose, expires_at)
	VALUES (decode($1, 'hex'), $2, $3, $4)`

	// consumeToken uses a token up. Two concurrent uses both find the row;
	// the second waits for the first's row lock, re-checks used_at and
	// updates nothing, so a token works exactly once.
	consumeToken = `UPDATE one_time_tokens SET used_at = now()
	WHERE hash = decode($1, 'hex') AND purpose = $2 AND used_at IS NULL AND expires_at > now()
	RETURNING user_id`

	peekToken = `SELECT user_id FROM one_time_tokens
	WHERE hash = decode($1, 'hex') AND purpose = $2 AND used_at IS NULL AND expires_at > now()`

	lockUser = `SELECT email, email_verified FROM users
	WHERE email = (SELECT i.email FROM user_ids i WHERE i.id = $1) AND id = $1
	FOR UPDATE`

	markVerified = `UPDATE users SET email_verified = true, email_verified_at = now(), updated_at = now()
	WHERE email = $2 AND id = $1`

	// setPassword replaces the hash only while it is still $3, the one the
	// caller verified the current password against: of two concurrent
	// changes, one wins and the other finds nothing to change.
	setPassword = `UPDATE users SET password_hash = $2, updated_at = now()
	WHERE email = (SELECT i.email FROM user_ids i WHERE i.id = $1) AND id = $1
		AND ($3 = '' OR password_hash = $3)
	RETURNING email`

	insertAccountEvent = `INSERT INTO outbox (id, aggregate_id, event_type, topic, msg_key, payload, trace_context)
	VALUES ($1, $2, $3, $4, $5, $6, $7)`

	// deleteExpiredTokens removes a batch of tokens past their expiry,
	// used or not: they can no longer do anything.
	deleteExpiredTokens = `DELETE FROM one_time_tokens WHERE hash IN (
		SELECT hash FROM one_time_tokens WHERE expires_at < now() ORDER BY expires_at LIMIT $1)`
)

// Current finds the user with the id on the primary, or user.ErrNotFound.
func (r *Users) Current(ctx context.Context, id string) (user.User, error) {
	if !isUUID(id) {
		return user.User{}, user.ErrNotFound
	}
	return get(ctx, r.primary, queryByID, id)
}

// CurrentByEmail finds the user with the normalized e-mail on the
// primary, or user.ErrNotFound. When the primary cannot answer (a
// failover), it reads the replica instead, so logins survive the
// failover: replication is synchronous, so the replica has every change
// the primary acknowledged, a password reset included, once it has
// replayed it, which it does before it is promoted.
func (r *Users) CurrentByEmail(ctx context.Context, email string) (user.User, error) {
	u, err := get(ctx, r.primary, queryByEmail, email)
	if err == nil || r.replica == nil || !pgerr.Unavailable(err) || ctx.Err() != nil {
		return u, err
	}
	return get(ctx, r.replica, queryByEmail, email)
}

// insertUserWithToken writes a new user, its id mapping, its data key
// (sealed), its UserRegistered event, its first verification token and the
// EmailVerificationRequested event carrying it: one statement, which
// PostgreSQL runs as one transaction, prepared, so a registration costs one
// round trip as it did before accounts had tokens. A new user has no
// earlier token to supersede.
const insertUserWithToken = `WITH new_user AS (
		INSERT INTO users (id, email, full_name, password_hash, is_admin, created_at)
		VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()))
	), new_id AS (
		INSERT INTO user_ids (id, email) VALUES ($1, $2)
	), registered AS (
		INSERT INTO outbox (id, aggregate_id, event_type, topic, msg_key, payload, trace_context)
		VALUES ($7, $1, '` + outbox.EventUserRegistered + `', $8, $9, $10, $11)
	), token AS (
		INSERT INTO one_time_tokens (hash, user_id, purpose, expires_at)
		VALUES (decode($12, 'hex'), $1, $13, $14)
	), data_key AS (
		INSERT INTO user_data_keys (user_id, version, ring_key_id, nonce, sealed_key)
		VALUES ($1, $21, $22, $23, $24)
	)
	INSERT INTO outbox (id, aggregate_id, event_type, topic, msg_key, payload, trace_context)
	VALUES ($15, $1, $16, $17, $18, $19, $20)`

// CreateWithToken stores u as Create does, and with it the e-mail
// verification token t and its EmailVerificationRequested event, in one
// statement (insertUserWithToken): a user never exists without the mail
// that lets them verify.
func (r *Users) CreateWithToken(ctx context.Context, u user.User, t user.OneTimeToken) error {
	if r.account == nil || r.event == nil {
		return errNoAccountEvents
	}
	key, sealed, err := r.newDataKey(u.ID)
	if err != nil {
		return err
	}
	reg, err := r.event(ctx, u, key)
	if err != nil {
		return fmt.Errorf("postgres: build %s event: %w", outbox.EventUserRegistered, err)
	}
	t.UserID = u.ID
	verify, err := r.account(ctx, user.AccountEvent{Kind: user.EventEmailVerificationRequested, UserID: u.ID, Email: u.Email, Token: &t}, key)
	if err != nil {
		return fmt.Errorf("postgres: build %s event: %w", user.EventEmailVerificationRequested, err)
	}
	regTC, err := traceJSON(reg)
	if err != nil {
		return err
	}
	verifyTC, err := traceJSON(verify)
	if err != nil {
		return err
	}
	var createdAt any
	if !u.CreatedAt.IsZero() {
		createdAt = u.CreatedAt
	}
	st, err := r.primary.get(ctx, insertUserWithToken)
	if err == nil {
		_, err = st.ExecContext(ctx, u.ID, u.Email, u.FullName, u.PasswordHash, u.IsAdmin, createdAt,
			reg.ID, reg.Topic, reg.Key, nonNil(reg.Payload), regTC,
			t.Hash, string(t.Purpose), t.ExpiresAt,
			verify.ID, verify.EventType, verify.Topic, verify.Key, nonNil(verify.Payload), verifyTC,
			sealbox.DataKeyVersion, sealed.GetKeyId(), sealed.GetNonce(), sealed.GetCiphertext())
	}
	if err != nil {
		if emailTaken(err) {
			return user.ErrEmailTaken
		}
		return fmt.Errorf("postgres: create user: %w", err)
	}
	// One statement outside a transaction: it has committed when it returns.
	r.publish([]outbox.Record{reg, verify})
	return nil
}

// IssueToken stores t for the user of u, ending the user's earlier unused
// tokens of t.Purpose, with the event that mails it
// (EmailVerificationRequested or PasswordResetRequested), in one
// transaction.
func (r *Users) IssueToken(ctx context.Context, u user.User, t user.OneTimeToken) error {
	if r.account == nil {
		return errNoAccountEvents
	}
	kind := user.EventEmailVerificationRequested
	if t.Purpose == user.PurposePasswordReset {
		kind = user.EventPasswordResetRequested
	}
	t.UserID = u.ID
	recs, err := r.inTx(ctx, func(tx *sqlx.Tx) ([]outbox.Record, error) {
		if _, err := tx.ExecContext(ctx, supersedeTokens, u.ID, string(t.Purpose)); err != nil {
			return nil, fmt.Errorf("supersede tokens: %w", err)
		}
		rec, err := r.issue(ctx, tx, u.Email, t, kind)
		if err != nil {
			return nil, err
		}
		return []outbox.Record{rec}, nil
	})
	if err != nil {
		return err
	}
	r.publish(recs)
	return nil
}

// TokenUser returns the user whose unused, unexpired token of purpose
// hashes to hash, without using it up, or user.ErrTokenInvalid.
func (r *Users) TokenUser(ctx context.Context, hash string, purpose user.Purpose) (string, error) {
	var id string
	err := r.primary.db.GetContext(ctx, &id, peekToken, hash, string(purpose))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", user.ErrTokenInvalid
	case err != nil:
		return "", fmt.Errorf("postgres: find token: %w", err)
	}
	return id, nil
}

// VerifyEmail uses up the verification token that hashes to hash and marks
// its user's address verified, with an EmailVerified event when it was not
// verified before, in one transaction. It returns the user id, or
// user.ErrTokenInvalid.
func (r *Users) VerifyEmail(ctx context.Context, hash string) (string, error) {
	if r.account == nil {
		return "", errNoAccountEvents
	}
	var userID string
	recs, err := r.inTx(ctx, func(tx *sqlx.Tx) ([]outbox.Record, error) {
		id, err := consume(ctx, tx, hash, user.PurposeEmailVerification)
		if err != nil {
			return nil, err
		}
		userID = id
		var (
			email    string
			verified bool
		)
		if err := tx.QueryRowxContext(ctx, lockUser, id).Scan(&email, &verified); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, user.ErrTokenInvalid // the user is gone
			}
			return nil, fmt.Errorf("find user: %w", err)
		}
		if verified {
			// A new token for an address already verified: nothing
			// changes, and nothing is announced twice.
			return nil, nil
		}
		if _, err := tx.ExecContext(ctx, markVerified, id, email); err != nil {
			return nil, fmt.Errorf("mark verified: %w", err)
		}
		rec, err := r.insertEvent(ctx, tx, user.AccountEvent{Kind: user.EventEmailVerified, UserID: id, Email: email})
		if err != nil {
			return nil, err
		}
		return []outbox.Record{rec}, nil
	})
	if err != nil {
		return "", err
	}
	r.publish(recs)
	return userID, nil
}

// ResetPassword uses up the reset token that hashes to hash and sets its
// user's password hash, with a PasswordChanged event, in one transaction.
// It returns the user id, or user.ErrTokenInvalid.
func (r *Users) ResetPassword(ctx context.Context, hash, passwordHash string) (string, error) {
	if r.account == nil {
		return "", errNoAccountEvents
	}
	var userID string
	recs, err := r.inTx(ctx, func(tx *sqlx.Tx) ([]outbox.Record, error) {
		id, err := consume(ctx, tx, hash, user.PurposePasswordReset)
		if err != nil {
			return nil, err
		}
		userID = id
		rec, err := r.setPassword(ctx, tx, id, "", passwordHash, user.PasswordChangeReset)
		if err != nil {
			return nil, err
		}
		// A reset proves the address as well as a verification would, but
		// the verification link stays what marks it: nothing else changes.
		// Whoever holds the mailed link acts as the account's owner.
		a, err := r.insertAudit(ctx, tx, audit.Entry{Actor: audit.Self(id), Action: audit.ActionPasswordReset, TargetID: id})
		return append([]outbox.Record{rec}, a...), err
	})
	if err != nil {
		return "", err
	}
	r.publish(recs)
	return userID, nil
}

// ChangePassword replaces the password hash of the user with the id by
// newHash, provided it is still oldHash, with a PasswordChanged event, in
// one transaction. It returns user.ErrNotFound when the user is gone or its
// hash changed meanwhile.
func (r *Users) ChangePassword(ctx context.Context, id, oldHash, newHash string) error {
	if r.account == nil {
		return errNoAccountEvents
	}
	if !isUUID(id) || oldHash == "" {
		return user.ErrNotFound
	}
	recs, err := r.inTx(ctx, func(tx *sqlx.Tx) ([]outbox.Record, error) {
		rec, err := r.setPassword(ctx, tx, id, oldHash, newHash, user.PasswordChangeByUser)
		if err != nil {
			return nil, err
		}
		a, err := r.insertAudit(ctx, tx, audit.Entry{Actor: audit.Self(id), Action: audit.ActionPasswordChanged, TargetID: id})
		return append([]outbox.Record{rec}, a...), err
	})
	if err != nil {
		return err
	}
	r.publish(recs)
	return nil
}

// DeleteExpiredTokens deletes up to limit tokens past their expiry and
// returns how many it deleted.
func (r *Users) DeleteExpiredTokens(ctx context.Context, limit int) (int64, error) {
	res, err := r.primary.db.ExecContext(ctx, deleteExpiredTokens, limit)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired tokens: %w", err)
	}
	return res.RowsAffected()
}

func (r *Users) setPassword(ctx context.Context, tx *sqlx.Tx, id, oldHash, newHash string, how user.PasswordChange) (outbox.Record, error) {
	var email string
	if err := tx.GetContext(ctx, &email, setPassword, id, newHash, oldHash); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			if oldHash == "" {
				return outbox.Record{}, user.ErrTokenInvalid // the user is gone
			}
			return outbox.Record{}, user.ErrNotFound
		}
		return outbox.Record{}, fmt.Errorf("set password: %w", err)
	}
	return r.insertEvent(ctx, tx, user.AccountEvent{Kind: user.EventPasswordChanged, UserID: id, Email: email, Method: how})
}

func consume(ctx context.Context, tx *sqlx.Tx, hash string, purpose user.Purpose) (string, error) {
	var id string
	err := tx.GetContext(ctx, &id, consumeToken, hash, string(purpose))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", user.ErrTokenInvalid
	case err != nil:
		return "", fmt.Errorf("consume token: %w", err)
	}
	return id, nil
}

// issue stores t and the event of kind that carries it.
func (r *Users) issue(ctx context.Context, tx *sqlx.Tx, email string, t user.OneTimeToken, kind user.EventKind) (outbox.Record, error) {
	if _, err := tx.ExecContext(ctx, insertToken, t.Hash, t.UserID, string(t.Purpose), t.ExpiresAt); err != nil {
		return outbox.Record{}, fmt.Errorf("insert token: %w", err)
	}
	return r.insertEvent(ctx, tx, user.AccountEvent{Kind: kind, UserID: t.UserID, Email: email, Token: &t})
}

func (r *Users) insertEvent(ctx context.Context, tx *sqlx.Tx, e user.AccountEvent) (outbox.Record, error) {
	var key []byte
	if e.Kind != user.EventUserDeleted {
		var err error
		if key, err = r.dataKey(ctx, tx, e.UserID); err != nil {
			return outbox.Record{}, err
		}
	}
	rec, err := r.account(ctx, e, key)
	if err != nil {
		return outbox.Record{}, fmt.Errorf("build %s event: %w", e.Kind, err)
	}
	tc, err := traceJSON(rec)
	if err != nil {
		return outbox.Record{}, err
	}
	if _, err := tx.ExecContext(ctx, insertAccountEvent, rec.ID, e.UserID, rec.EventType, rec.Topic, rec.Key, nonNil(rec.Payload), tc); err != nil {
		return outbox.Record{}, fmt.Errorf("insert %s event: %w", e.Kind, err)
	}
	return rec, nil
}

// inTx runs fn in a transaction on the primary and commits when it
// succeeds, returning the outbox records fn wrote.
func (r *Users) inTx(ctx context.Context, fn func(*sqlx.Tx) ([]outbox.Record, error)) ([]outbox.Record, error) {
	tx, err := r.primary.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("postgres: begin: %w", err)
	}
	recs, err := fn(tx)
	if err != nil {
		_ = tx.Rollback()
		if errors.Is(err, user.ErrEmailTaken) || errors.Is(err, user.ErrTokenInvalid) || errors.Is(err, user.ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("postgres: commit: %w", err)
	}
	return recs, nil
}

// publish hands committed records to the OnCommitted function.
func (r *Users) publish(recs []outbox.Record) {
	if r.committed == nil {
		return
	}
	for _, rec := range recs {
		r.committed(rec)
	}
}

func traceJSON(rec outbox.Record) (string, error) {
	if rec.TraceContext == nil {
		return "{}", nil
	}
	tc, err := json.Marshal(rec.TraceContext)
	if err != nil {
		return "", fmt.Errorf("encode trace context: %w", err)
	}
	return string(tc), nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// The statements of an account's deletion, run in one transaction after
// lockUser. user_ids follows users by its foreign key (ON DELETE CASCADE).
const (
	deleteUser = `DELETE FROM users WHERE email = $2 AND id = $1`

	deleteUserTokens = `DELETE FROM one_time_tokens WHERE user_id = $1`

	// deleteDataKeys (datakeys.go) shreds the user's events: whatever copy
	// of them a topic, a dead-letter topic or a consumer still holds can
	// no longer be opened once this commits.

	// deleteUserEvents removes every earlier event of the user, delivered
	// or not: their payloads carry its address and name. An undelivered
	// one is dropped rather than sent: it would announce something to an
	// account that no longer exists (a welcome, a reset link), and its
	// consumers would have to erase it again. A row the relay is sending
	// at this moment may still reach Kafka; the consumers ignore a user's
	// events once they have seen its UserDeleted.
	deleteUserEvents = `DELETE FROM outbox WHERE aggregate_id = $1`
)

// Delete removes the user, its id mapping, its one-time tokens, its earlier
// events and its data key, and stores its UserDeleted event and the audit
// entry of the deletion by by, in one transaction:
// after the commit no row of sso's database names the person, and the
// event that has the other services forget it is on its way. It returns
// user.ErrNotFound when the user is already gone.
func (r *Users) Delete(ctx context.Context, id string, by audit.Actor) error {
	if r.account == nil {
		return errNoAccountEvents
	}
	if !isUUID(id) {
		return user.ErrNotFound
	}
	recs, err := r.inTx(ctx, func(tx *sqlx.Tx) ([]outbox.Record, error) {
		var (
			email    string
			verified bool
		)
		if err := tx.QueryRowxContext(ctx, lockUser, id).Scan(&email, &verified); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, user.ErrNotFound
			}
			return nil, fmt.Errorf("lock user: %w", err)
		}
		for _, st := range []struct{ name, q string }{
			{"user", deleteUser}, {"tokens", deleteUserTokens}, {"events", deleteUserEvents}, {"data keys", deleteDataKeys},
		} {
			args := []any{id}
			if st.q == deleteUser {
				args = append(args, email)
			}
			if _, err := tx.ExecContext(ctx, st.q, args...); err != nil {
				return nil, fmt.Errorf("delete %s: %w", st.name, err)
			}
		}
		rec, err := r.insertEvent(ctx, tx, user.AccountEvent{Kind: user.EventUserDeleted, UserID: id})
		if err != nil {
			return nil, err
		}
		a, err := r.insertAudit(ctx, tx, audit.Entry{Actor: by, Action: audit.ActionUserDeleted, TargetID: id})
		return append([]outbox.Record{rec}, a...), err
	})
	if err != nil {
		return err
	}
	r.publish(recs)
	return nil
}
