package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/ssokit/platform/libs/pgerr"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
)

// Ledger stores accounts and transactions in PostgreSQL.
type Ledger struct {
	db *sqlx.DB
}

var _ ledger.Store = (*Ledger)(nil)

// NewLedger returns a Ledger on db, whose schema Migrate has applied.
func NewLedger(db *sqlx.DB) *Ledger {
	return &Ledger{db: db}
}

const (
	selectAccount = `SELECT user_id, balance, created_at, updated_at FROM accounts WHERE user_id = $1`

	accountExists = `SELECT EXISTS (SELECT 1 FROM accounts WHERE user_id = $1)`

	// lockAccount serializes the changes of one account (see the package
	// documentation).
	lockAccount = `SELECT balance, closed_at IS NOT NULL AS closed FROM accounts WHERE user_id = $1 FOR UPDATE`

	closeAccount = `UPDATE accounts SET closed_at = clock_timestamp(), closed_by_event = $2
	WHERE user_id = $1 AND closed_at IS NULL`

	// eraseTransactionText blanks what an administrator typed. A
	// deposit's or withdrawal's key must stay unique and non-null: its own
	// id is.
	eraseTransactionText = `UPDATE transactions
	SET reason = '', idempotency_key = CASE WHEN idempotency_key IS NULL THEN NULL ELSE id::text END
	WHERE user_id = $1`

	openAccount = `INSERT INTO accounts (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING`

	hasWelcomeBonus = `SELECT EXISTS (
		SELECT 1 FROM transactions WHERE user_id = $1 AND kind = 'WELCOME_BONUS')`

	credit = `UPDATE accounts SET balance = balance + $2, updated_at = clock_timestamp()
	WHERE user_id = $1
	RETURNING balance, updated_at`

	// debit takes nothing when the balance is too small: no row comes back.
	debit = `UPDATE accounts SET balance = balance - $2, updated_at = clock_timestamp()
	WHERE user_id = $1 AND balance >= $2
	RETURNING balance, updated_at`

	insertTransaction = `INSERT INTO transactions
		(id, user_id, kind, amount, reason, balance_after, idempotency_key, event_id, created_at)
	VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, ''), NULLIF($8, '')::uuid, $9)`

	transactionColumns = `SELECT id, user_id, kind, amount, reason, balance_after,
		COALESCE(idempotency_key, '') AS idempotency_key, COALESCE(event_id::text, '') AS event_id, created_at
	FROM transactions`

	selectByKey = transactionColumns + `
	WHERE user_id = $1 AND idempotency_key = $2`

	// The history reads walk transactions_history_idx backwards from the
	// newest, or from the cursor, and stop after the limit.
	historyFirst = transactionColumns + `
	WHERE user_id = $1
	ORDER BY created_at DESC, id DESC LIMIT $2`

	historyAfter = transactionColumns + `
	WHERE user_id = $1 AND (created_at, id) < ($3::timestamptz, $4::uuid)
	ORDER BY created_at DESC, id DESC LIMIT $2`
)

// Account returns the account of userID, or ledger.ErrNotFound.
func (l *Ledger) Account(ctx context.Context, userID string) (ledger.Account, error) {
	var row struct {
		UserID    string    `db:"user_id"`
		Balance   int64     `db:"balance"`
		CreatedAt time.Time `db:"created_at"`
		UpdatedAt time.Time `db:"updated_at"`
	}
	if err := l.db.GetContext(ctx, &row, selectAccount, userID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return ledger.Account{}, ledger.ErrNotFound
		}
		return ledger.Account{}, storeError("read account", err)
	}
	return ledger.Account{UserID: row.UserID, Balance: row.Balance, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}, nil
}

// Transactions returns up to limit transactions of userID's account, newest
// first, after the cursor if there is one; ledger.ErrNotFound when the
// account does not exist.
func (l *Ledger) Transactions(ctx context.Context, userID string, after *ledger.Cursor, limit int) ([]ledger.Transaction, error) {
	var (
		rows []transactionRow
		err  error
	)
	if after == nil {
		err = l.db.SelectContext(ctx, &rows, historyFirst, userID, limit)
	} else {
		err = l.db.SelectContext(ctx, &rows, historyAfter, userID, limit, after.CreatedAt, after.ID)
	}
	if err != nil {
		return nil, storeError("read transactions", err)
	}
	if len(rows) == 0 {
		// Every account has its welcome bonus, so an empty first page is
		// rare: only then is it worth asking whether the account exists.
		var exists bool
		if err := l.db.GetContext(ctx, &exists, accountExists, userID); err != nil {
			return nil, storeError("read account", err)
		}
		if !exists {
			return nil, ledger.ErrNotFound
		}
	}
	txs := make([]ledger.Transaction, len(rows))
	for i, r := range rows {
		txs[i] = r.transaction()
	}
	return txs, nil
}

// CreditWelcome opens t.UserID's account if needed and credits t, the
// welcome bonus, unless the account already had one; all in one database
// transaction. It reports whether it credited t.
func (l *Ledger) CreditWelcome(ctx context.Context, t ledger.Transaction) (credited bool, err error) {
	if t.Kind != ledger.KindWelcomeBonus {
		return false, fmt.Errorf("postgres: credit welcome: transaction kind %s", t.Kind)
	}
	err = l.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, openAccount, t.UserID); err != nil {
			return err
		}
		var acc lockedAccount
		if err := tx.GetContext(ctx, &acc, lockAccount, t.UserID); err != nil || acc.Closed {
			return err
		}
		var had bool
		if err := tx.GetContext(ctx, &had, hasWelcomeBonus, t.UserID); err != nil || had {
			return err
		}
		if _, err := record(ctx, tx, t); err != nil {
			return err
		}
		credited = true
		return nil
	})
	if err != nil {
		if pqErr := pq.As(err, pqerror.UniqueViolation); pqErr != nil && pqErr.Constraint == "transactions_one_welcome_bonus" {
			// Unreachable while the row lock serializes bonuses; the index
			// is the last line of defence, and its verdict is the same.
			return false, nil
		}
		return false, storeError("credit welcome bonus", err)
	}
	return credited, nil
}

// Apply records t, a deposit or withdrawal, and changes the balance, unless
// the account already has a transaction under t's idempotency key, which
// it returns instead (applied false).
func (l *Ledger) Apply(ctx context.Context, t ledger.Transaction) (recorded ledger.Transaction, applied bool, err error) {
	if t.Kind != ledger.KindDeposit && t.Kind != ledger.KindWithdrawal || t.IdempotencyKey == "" {
		return ledger.Transaction{}, false, fmt.Errorf("postgres: apply: a %s without idempotency key", t.Kind)
	}
	err = l.inTx(ctx, func(tx *sqlx.Tx) error {
		var acc lockedAccount
		if err := tx.GetContext(ctx, &acc, lockAccount, t.UserID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ledger.ErrNotFound
			}
			return err
		}
		if acc.Closed {
			return ledger.ErrAccountClosed
		}
		var prev transactionRow
		err := tx.GetContext(ctx, &prev, selectByKey, t.UserID, t.IdempotencyKey)
		if err == nil {
			recorded = prev.transaction()
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		recorded, err = record(ctx, tx, t)
		applied = err == nil
		return err
	})
	if err != nil {
		if isLedgerError(err) {
			return ledger.Transaction{}, false, err
		}
		return ledger.Transaction{}, false, storeError("apply "+string(t.Kind), err)
	}
	return recorded, applied, nil
}

// lockedAccount is what lockAccount reads.
type lockedAccount struct {
	Balance int64 `db:"balance"`
	Closed  bool  `db:"closed"`
}

// Close implements ledger.Store: in one transaction, under the account's
// row lock, so no deposit or bonus slips in between.
func (l *Ledger) Close(ctx context.Context, userID, eventID string) (closed bool, err error) {
	err = l.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, openAccount, userID); err != nil {
			return err
		}
		var acc lockedAccount
		if err := tx.GetContext(ctx, &acc, lockAccount, userID); err != nil || acc.Closed {
			return err
		}
		if _, err := tx.ExecContext(ctx, closeAccount, userID, eventID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, eraseTransactionText, userID); err != nil {
			return err
		}
		closed = true
		return nil
	})
	if err != nil {
		return false, storeError("close account", err)
	}
	return closed, nil
}

// record changes the balance of t's account, whose row the caller has
// locked, by t and inserts t with the resulting balance; it returns t as
// stored.
func record(ctx context.Context, tx *sqlx.Tx, t ledger.Transaction) (ledger.Transaction, error) {
	change := credit
	if t.Kind == ledger.KindWithdrawal {
		change = debit
	}
	err := tx.QueryRowxContext(ctx, change, t.UserID, t.Amount).Scan(&t.BalanceAfter, &t.CreatedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ledger.Transaction{}, ledger.ErrInsufficientFunds
	case pq.As(err, pqerror.NumericValueOutOfRange) != nil:
		return ledger.Transaction{}, ledger.ErrBalanceOverflow
	case err != nil:
		return ledger.Transaction{}, err
	}
	if _, err := tx.ExecContext(ctx, insertTransaction, t.ID, t.UserID, string(t.Kind), t.Amount, t.Reason,
		t.BalanceAfter, t.IdempotencyKey, t.EventID, t.CreatedAt); err != nil {
		return ledger.Transaction{}, err
	}
	return t, nil
}

// inTx runs fn in a database transaction, committed when fn returns nil
// and rolled back otherwise.
func (l *Ledger) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := l.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// storeError is a failed statement of op, marked ledger.ErrUnavailable
// when the database cannot be reached or is busy, so that callers wait for
// it (the consumer) rather than give up.
func storeError(op string, err error) error {
	if pgerr.Unavailable(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, ledger.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

func isLedgerError(err error) bool {
	return errors.Is(err, ledger.ErrNotFound) || errors.Is(err, ledger.ErrAccountClosed) ||
		errors.Is(err, ledger.ErrInsufficientFunds) ||
		errors.Is(err, ledger.ErrBalanceOverflow)
}

// transactionRow is a row of the transaction reads.
type transactionRow struct {
	ID             string    `db:"id"`
	UserID         string    `db:"user_id"`
	Kind           string    `db:"kind"`
	Amount         int64     `db:"amount"`
	Reason         string    `db:"reason"`
	BalanceAfter   int64     `db:"balance_after"`
	IdempotencyKey string    `db:"idempotency_key"`
	EventID        string    `db:"event_id"`
	CreatedAt      time.Time `db:"created_at"`
}

func (r transactionRow) transaction() ledger.Transaction {
	return ledger.Transaction{
		ID: r.ID, UserID: r.UserID, Kind: ledger.Kind(r.Kind), Amount: r.Amount, Reason: r.Reason,
		BalanceAfter: r.BalanceAfter, IdempotencyKey: r.IdempotencyKey, EventID: r.EventID, CreatedAt: r.CreatedAt,
	}
}
