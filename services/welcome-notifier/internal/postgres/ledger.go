package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/migrate"
	"github.com/ssokit/platform/libs/pgerr"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the notifier schema on db up to date; it is safe to call
// from several processes at once (see package migrate).
func Migrate(ctx context.Context, db *sqlx.DB) error {
	ms, err := migrate.FromFS(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if _, err := migrate.Run(ctx, db, ms); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// recordTimeout bounds writing down a mail the SMTP server has already
// accepted. That write does not follow the caller's cancellation: a
// shutdown arriving just then must not turn a sent mail into one sent again
// after the restart.
const recordTimeout = 10 * time.Second

// Ledger is welcome.Ledger on PostgreSQL.
type Ledger struct {
	db *sqlx.DB
}

var _ welcome.Ledger = (*Ledger)(nil)

// NewLedger returns a Ledger over db, which Migrate has prepared.
func NewLedger(db *sqlx.DB) *Ledger { return &Ledger{db: db} }

// table says where d's mail is recorded: a welcome in welcome_mails by
// user, an account mail in account_mails by event. Both are constants, so
// the statements below are never built from input.
func table(d welcome.Delivery) (name, keyColumn, key string) {
	if d.Kind.PerEvent() {
		return "account_mails", "event_id", d.EventID
	}
	return "welcome_mails", "user_id", d.UserID
}

// Once implements welcome.Ledger; see the package documentation.
func (l *Ledger) Once(ctx context.Context, d welcome.Delivery, send func(context.Context) error) (_ welcome.Outcome, err error) {
	name, keyColumn, key := table(d)
	// The transaction is not bound to ctx: database/sql would roll it back
	// the moment ctx ends, even after the mail went out. Its statements
	// are, up to the send.
	tx, err := l.db.BeginTxx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return 0, dbError("", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit

	erased, err := lockUser(ctx, tx, d.UserID)
	if err != nil {
		return 0, err
	}
	if erased {
		return welcome.Erased, nil
	}
	claim := `INSERT INTO welcome_mails (user_id, event_id, email, status, message_id)
		VALUES ($1, $2, $3, 'sending', $4)
		ON CONFLICT (user_id) DO NOTHING`
	args := []any{d.UserID, d.EventID, d.Email, d.MessageID}
	if name == "account_mails" {
		claim = `INSERT INTO account_mails (user_id, event_id, email, status, message_id, kind)
		VALUES ($1, $2, $3, 'sending', $4, $5)
		ON CONFLICT (event_id) DO NOTHING`
		args = append(args, string(d.Kind))
	}
	if _, err := tx.ExecContext(ctx, claim, args...); err != nil {
		return 0, dbError("claim", err)
	}
	var status string
	if err := tx.GetContext(ctx, &status, `SELECT status FROM `+name+` WHERE `+keyColumn+` = $1 FOR UPDATE`, key); err != nil {
		return 0, dbError("lock", err)
	}
	if status == "sent" {
		if err := tx.Commit(); err != nil {
			return 0, dbError("", err)
		}
		return welcome.AlreadySent, nil
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE `+name+`
		SET attempts = attempts + 1, user_id = $2, event_id = $3, email = $4, message_id = $5
		WHERE `+keyColumn+` = $1`,
		key, d.UserID, d.EventID, d.Email, d.MessageID); err != nil {
		return 0, dbError("count attempt", err)
	}

	sendErr := send(ctx)

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if sendErr != nil {
		// Keep the attempt and its cause for operators; the send error is
		// what the caller needs, whether or not this bookkeeping works.
		if _, err := tx.ExecContext(rctx, `UPDATE `+name+` SET last_error = $2 WHERE `+keyColumn+` = $1`, key, sendErr.Error()); err == nil {
			_ = tx.Commit()
		}
		return 0, sendErr
	}
	if _, err := tx.ExecContext(rctx, `
		UPDATE `+name+` SET status = 'sent', sent_at = now(), last_error = NULL
		WHERE `+keyColumn+` = $1`, key); err != nil {
		return 0, dbError("record sent mail", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, dbError("record sent mail", err)
	}
	return welcome.Sent, nil
}

// lockUser serializes Once and Erase of one user, until the transaction
// ends, and reports whether the user is erased. Without it an Erase could
// miss the row of a Once that had not committed yet: its UPDATE does not
// see a row inserted after it began. Two users whose ids hash alike only
// wait for each other.
func lockUser(ctx context.Context, tx *sqlx.Tx, userID string) (erased bool, err error) {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, userID); err != nil {
		return false, dbError("lock user", err)
	}
	if err := tx.GetContext(ctx, &erased, `SELECT EXISTS (SELECT 1 FROM erased_users WHERE user_id = $1)`, userID); err != nil {
		return false, dbError("find erased user", err)
	}
	return erased, nil
}

// Erase implements welcome.Ledger: it blanks the address and last error
// of the user's mails and marks the user erased, in one transaction.
func (l *Ledger) Erase(ctx context.Context, userID, eventID string) error {
	tx, err := l.db.BeginTxx(ctx, nil)
	if err != nil {
		return dbError("", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := lockUser(ctx, tx, userID); err != nil {
		return err
	}
	for _, q := range []string{
		`INSERT INTO erased_users (user_id, event_id) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`,
		`UPDATE welcome_mails SET email = '', last_error = NULL WHERE user_id = $1 AND (email <> '' OR last_error IS NOT NULL)`,
		`UPDATE account_mails SET email = '', last_error = NULL WHERE user_id = $1 AND (email <> '' OR last_error IS NOT NULL)`,
	} {
		args := []any{userID}
		if len(q) > 0 && q[0] == 'I' {
			args = append(args, eventID)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return dbError("erase user", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return dbError("erase user", err)
	}
	return nil
}

// dbError is a failure of the ledger's own statements, marked
// welcome.ErrUnavailable when the database cannot be reached or is busy,
// so that the event waits for it rather than being given up on.
func dbError(step string, err error) error {
	prefix := "postgres"
	if step != "" {
		prefix += ": " + step
	}
	if pgerr.Unavailable(err) {
		return fmt.Errorf("%s: %w: %w", prefix, welcome.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// Record is a row of welcome_mails (Kind "welcome") or account_mails.
type Record struct {
	Kind      string       `db:"kind"`
	UserID    string       `db:"user_id"`
	EventID   string       `db:"event_id"`
	Email     string       `db:"email"`
	Status    string       `db:"status"`
	MessageID string       `db:"message_id"`
	Attempts  int          `db:"attempts"`
	LastError *string      `db:"last_error"`
	CreatedAt time.Time    `db:"created_at"`
	SentAt    sql.NullTime `db:"sent_at"`
}

// ErrNotFound means there is no row: no attempt was ever made.
var ErrNotFound = errors.New("postgres: no such mail")

// Get returns userID's record, for operators and tests.
func (l *Ledger) Get(ctx context.Context, userID string) (Record, error) {
	var r Record
	err := l.db.GetContext(ctx, &r, `
		SELECT 'welcome' AS kind, user_id, event_id, email, status, message_id, attempts, last_error, created_at, sent_at
		FROM welcome_mails WHERE user_id = $1`, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("postgres: %w", err)
	}
	return r, nil
}

// GetAccountMail returns the record of the account mail asked for by
// eventID, for operators and tests.
func (l *Ledger) GetAccountMail(ctx context.Context, eventID string) (Record, error) {
	var r Record
	err := l.db.GetContext(ctx, &r, `
		SELECT kind, user_id, event_id, email, status, message_id, attempts, last_error, created_at, sent_at
		FROM account_mails WHERE event_id = $1`, eventID)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("postgres: %w", err)
	}
	return r, nil
}
