package postgres_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
	"github.com/ssokit/platform/services/loyalty-points/internal/postgres"
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func welcome(userID, eventID string, amount int64) ledger.Transaction {
	return ledger.Transaction{ID: newID(), UserID: userID, Kind: ledger.KindWelcomeBonus, Amount: amount, Reason: "welcome bonus", EventID: eventID}
}

// openAccount returns a new user whose account holds balance, credited as
// its welcome bonus.
func openAccount(t *testing.T, l *postgres.Ledger, balance int64) string {
	t.Helper()
	user := uuid.NewString()
	credited, err := l.CreditWelcome(testenv.Context(t, 10*time.Second), welcome(user, uuid.NewString(), balance))
	if err != nil || !credited {
		t.Fatalf("open account: %v, %v", credited, err)
	}
	return user
}

func TestMigrateTwice(t *testing.T) {
	db := testDB(t)
	if err := postgres.Migrate(testenv.Context(t, 10*time.Second), db); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	var versions int
	// One row per migration file, however often Migrate runs.
	if err := db.Get(&versions, `SELECT count(*) FROM schema_migrations`); err != nil || versions != 2 {
		t.Fatalf("schema_migrations rows = %d, %v; want 2", versions, err)
	}
}

// TestSchemaRefusesANegativeBalance proves the last line of defence: even
// a direct write cannot take a balance below zero.
func TestSchemaRefusesANegativeBalance(t *testing.T) {
	db := testDB(t)
	user := openAccount(t, postgres.NewLedger(db), 5)
	_, err := db.Exec(`UPDATE accounts SET balance = balance - 6 WHERE user_id = $1`, user)
	if pqErr := pq.As(err, pqerror.CheckViolation); pqErr == nil || pqErr.Constraint != "accounts_balance_check" {
		t.Fatalf("err = %v, want a violation of accounts_balance_check", err)
	}
	_, err = db.Exec(`INSERT INTO transactions (id, user_id, kind, amount, balance_after, event_id)
		VALUES ($1, $2, 'WELCOME_BONUS', 5, 10, $3)`, newID(), user, uuid.NewString())
	if pqErr := pq.As(err, pqerror.UniqueViolation); pqErr == nil || pqErr.Constraint != "transactions_one_welcome_bonus" {
		t.Fatalf("err = %v, want a violation of transactions_one_welcome_bonus", err)
	}
}
