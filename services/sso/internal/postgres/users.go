package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/ssokit/platform/libs/sealbox"

	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// Users stores accounts in PostgreSQL: writes on the primary, reads on the
// replica with a fallback to the primary (see ByEmail).
type Users struct {
	primary   *stmts
	replica   *stmts // nil: reads go to the primary
	event     outbox.EventFunc
	committed func(outbox.Record)
	// account builds the outbox records of account events; nil: the
	// account life cycle methods refuse to run (see WithAccountEvents).
	account outbox.AccountEventFunc
	// audit builds the outbox records of audit entries; nil: no entries
	// are written (see WithAuditEvents).
	audit outbox.AuditEventFunc
	// ring seals the users' data keys; nil: the methods writing events
	// refuse to run (see WithDataKeys).
	ring *sealbox.Ring
}

var _ auth.Users = (*Users)(nil)

// Option configures Users.
type Option func(*Users)

// OnCommitted has Create call fn with each outbox record it has committed,
// right after the commit and on the caller's goroutine, so a relay can
// publish the event at once instead of waiting for its next sweep. fn must
// not block: the registration waits for it. A record whose commit fails is
// never passed; one whose fn call is lost (a crash) is still in the table.
func OnCommitted(fn func(outbox.Record)) Option {
	return func(u *Users) { u.committed = fn }
}

// NewUsers returns Users writing to primary and reading from replica; a nil
// replica sends reads to the primary. event builds the outbox record Create
// writes with each user; with a nil event Create writes no outbox row.
// Users prepares its statements on the pools as it first uses them (the
// schema must be migrated by then); they are released when the pools close.
func NewUsers(primary, replica *sqlx.DB, event outbox.EventFunc, opts ...Option) *Users {
	u := &Users{primary: newStmts(primary), replica: newStmts(replica), event: event}
	for _, opt := range opts {
		opt(u)
	}
	return u
}

// The user, its id mapping, its data key and its event are written by one
// statement, which PostgreSQL runs as one transaction: all rows or none,
// in one round trip.
const (
	insertUser = `WITH new_user AS (
		INSERT INTO users (id, email, full_name, password_hash, is_admin, created_at)
		VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()))
	)
	INSERT INTO user_ids (id, email) VALUES ($1, $2)`

	insertUserWithEvent = `WITH new_user AS (
		INSERT INTO users (id, email, full_name, password_hash, is_admin, created_at)
		VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()))
	), new_id AS (
		INSERT INTO user_ids (id, email) VALUES ($1, $2)
	), data_key AS (
		INSERT INTO user_data_keys (user_id, version, ring_key_id, nonce, sealed_key) VALUES ($1, $12, $13, $14, $15)
	)
	INSERT INTO outbox (id, aggregate_id, event_type, topic, msg_key, payload, trace_context)
	VALUES ($7, $1, '` + outbox.EventUserRegistered + `', $8, $9, $10, $11)`
)

// Create stores u, and the outbox record of its UserRegistered event if
// Users has an event builder, in one transaction on the primary. u.Email is
// stored as given: the caller normalizes it. A zero u.CreatedAt means the
// database's clock; timestamps keep microseconds. u.EventStatus is ignored:
// a new event is in progress. It returns user.ErrEmailTaken when another
// account has the e-mail, including when a concurrent Create of the same
// e-mail commits first. Once committed, the record goes to the OnCommitted
// function, if any.
func (r *Users) Create(ctx context.Context, u user.User) error {
	var createdAt any // NULL: the database's now()
	if !u.CreatedAt.IsZero() {
		createdAt = u.CreatedAt
	}
	args := []any{u.ID, u.Email, u.FullName, u.PasswordHash, u.IsAdmin, createdAt}
	query := insertUser
	var rec outbox.Record
	if r.event != nil {
		key, sealed, err := r.newDataKey(u.ID)
		if err != nil {
			return err
		}
		rec, err = r.event(ctx, u, key)
		if err != nil {
			return fmt.Errorf("postgres: build %s event: %w", outbox.EventUserRegistered, err)
		}
		tc, err := json.Marshal(rec.TraceContext)
		if err != nil {
			return fmt.Errorf("postgres: encode trace context: %w", err)
		}
		if rec.TraceContext == nil {
			tc = []byte("{}")
		}
		payload := rec.Payload
		if payload == nil {
			payload = []byte{} // an empty event is still an event: never NULL
		}
		query = insertUserWithEvent
		args = append(args, rec.ID, rec.Topic, rec.Key, payload, string(tc),
			sealbox.DataKeyVersion, sealed.GetKeyId(), sealed.GetNonce(), sealed.GetCiphertext())
	}
	st, err := r.primary.get(ctx, query)
	if err == nil {
		_, err = st.ExecContext(ctx, args...)
	}
	if err != nil {
		if emailTaken(err) {
			return user.ErrEmailTaken
		}
		return fmt.Errorf("postgres: create user: %w", err)
	}
	// One statement outside a transaction: it has committed when it returns.
	if query == insertUserWithEvent && r.committed != nil {
		r.committed(rec)
	}
	return nil
}

// emailTaken reports whether err is a unique violation of an e-mail: the
// primary key of a users partition (users_p<n>_pkey), or user_ids' e-mail.
// Other unique violations (a reused user or event id) are bugs, not a
// taken address.
func emailTaken(err error) bool {
	pqErr := pq.As(err, pqerror.UniqueViolation)
	if pqErr == nil {
		return false
	}
	c := pqErr.Constraint
	return c == "user_ids_email_key" || strings.HasPrefix(c, "users_") && strings.HasSuffix(c, "_pkey")
}

// The reads. users is partitioned by e-mail: by e-mail the planner prunes
// to one partition; by id the e-mail comes from user_ids in an InitPlan and
// the executor prunes to its one partition before scanning (EXPLAIN
// ANALYZE shows the others "never executed"). The id test on users guards
// against a stale mapping.
const (
	selectUser = `SELECT u.id, u.email, u.full_name, u.password_hash, u.is_admin, u.created_at, u.email_verified,
		u.disabled_at IS NOT NULL AS disabled,
		COALESCE((
			SELECT o.status FROM outbox o
			WHERE o.aggregate_id = u.id AND o.event_type = '` + outbox.EventUserRegistered + `'
			ORDER BY o.created_at DESC
			LIMIT 1
		), '') AS event_status
	FROM users u`

	queryByEmail = selectUser + `
	WHERE u.email = $1`

	queryByID = selectUser + `
	WHERE u.email = (SELECT i.email FROM user_ids i WHERE i.id = $1) AND u.id = $1`

	updatePasswordHash = `UPDATE users SET password_hash = $2, updated_at = now()
	WHERE email = (SELECT i.email FROM user_ids i WHERE i.id = $1) AND id = $1`
)

// ByEmail finds the user with the normalized e-mail, or user.ErrNotFound.
// It reads the replica first; when the replica has no such user (a write
// it has not replayed yet) or cannot answer, it reads the primary, so
// replication lag never turns into a failed login. Only an unanswered
// primary is an error other than user.ErrNotFound.
func (r *Users) ByEmail(ctx context.Context, email string) (user.User, error) {
	return r.find(ctx, queryByEmail, email)
}

// ByID finds the user with the id, or user.ErrNotFound; it reads like
// ByEmail. An id that is not a UUID matches no user.
func (r *Users) ByID(ctx context.Context, id string) (user.User, error) {
	if !isUUID(id) {
		return user.User{}, user.ErrNotFound
	}
	return r.find(ctx, queryByID, id)
}

// SetPasswordHash replaces the stored hash of the user with the id, on the
// primary, or returns user.ErrNotFound.
func (r *Users) SetPasswordHash(ctx context.Context, id, hash string) error {
	if !isUUID(id) {
		return user.ErrNotFound
	}
	st, err := r.primary.get(ctx, updatePasswordHash)
	if err != nil {
		return fmt.Errorf("postgres: set password hash: %w", err)
	}
	res, err := st.ExecContext(ctx, id, hash)
	if err != nil {
		return fmt.Errorf("postgres: set password hash: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("postgres: set password hash: %w", err)
	}
	if n == 0 {
		return user.ErrNotFound
	}
	return nil
}

func (r *Users) find(ctx context.Context, query string, arg any) (user.User, error) {
	if r.replica != nil {
		u, err := get(ctx, r.replica, query, arg)
		if err == nil {
			return u, nil
		}
		if ctx.Err() != nil {
			return user.User{}, err
		}
		// Not replayed yet, or the replica is down: the primary knows.
	}
	return get(ctx, r.primary, query, arg)
}

// userRow is a row of the reads above.
type userRow struct {
	ID           string    `db:"id"`
	Email        string    `db:"email"`
	FullName     string    `db:"full_name"`
	PasswordHash string    `db:"password_hash"`
	IsAdmin      bool      `db:"is_admin"`
	CreatedAt    time.Time `db:"created_at"`
	Verified     bool      `db:"email_verified"`
	Disabled     bool      `db:"disabled"`
	EventStatus  string    `db:"event_status"`
}

func get(ctx context.Context, db *stmts, query string, arg any) (user.User, error) {
	st, err := db.get(ctx, query)
	if err != nil {
		return user.User{}, fmt.Errorf("postgres: find user: %w", err)
	}
	var row userRow
	if err := st.GetContext(ctx, &row, arg); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return user.User{}, user.ErrNotFound
		}
		return user.User{}, fmt.Errorf("postgres: find user: %w", err)
	}
	return row.user(), nil
}

func (row userRow) user() user.User {
	return user.User{
		ID:            row.ID,
		Email:         row.Email,
		FullName:      row.FullName,
		PasswordHash:  row.PasswordHash,
		IsAdmin:       row.IsAdmin,
		CreatedAt:     row.CreatedAt,
		EventStatus:   user.EventStatus(row.EventStatus),
		EmailVerified: row.Verified,
		Disabled:      row.Disabled,
	}
}

// isUUID reports whether s is a UUID in the canonical 8-4-4-4-12 form, the
// only form this service issues.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
