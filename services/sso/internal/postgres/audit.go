package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/libs/pgerr"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
)

// AuditLog is the audit_events table: the consumer of the audit topic
// writes it on the primary, the admin listing reads the replica.
type AuditLog struct {
	primary *sqlx.DB
	replica *sqlx.DB // nil: reads go to the primary
}

var _ auth.AuditLog = (*AuditLog)(nil)

// NewAuditLog returns the AuditLog over primary and replica; a nil replica
// sends reads to the primary.
func NewAuditLog(primary, replica *sqlx.DB) *AuditLog {
	return &AuditLog{primary: primary, replica: replica}
}

const (
	insertAuditEntry = `INSERT INTO audit_events
		(event_id, occurred_at, actor_user_id, actor_kind, action, target_user_id, client_address, trace_id, outcome)
	VALUES ($1, $2, NULLIF($3, '')::uuid, $4, $5, NULLIF($6, '')::uuid, $7, $8, $9)
	ON CONFLICT (event_id) DO NOTHING`

	// pruneAudit deletes a batch of the oldest entries older than $1.
	pruneAudit = `DELETE FROM audit_events WHERE event_id IN (
		SELECT event_id FROM audit_events WHERE occurred_at < $1
		ORDER BY occurred_at LIMIT $2)`

	selectAudit = `SELECT event_id, occurred_at, COALESCE(actor_user_id::text, '') AS actor_user_id, actor_kind, action,
		COALESCE(target_user_id::text, '') AS target_user_id, client_address, trace_id, outcome
	FROM audit_events`
)

// Insert stores e unless an entry with its id is stored already, and
// reports whether it stored it.
func (l *AuditLog) Insert(ctx context.Context, e audit.Entry) (bool, error) {
	if !isUUID(e.ID) || e.Actor.ID != "" && !isUUID(e.Actor.ID) || e.TargetID != "" && !isUUID(e.TargetID) {
		return false, fmt.Errorf("postgres: audit entry %q: ids must be UUIDs", e.ID)
	}
	res, err := l.primary.ExecContext(ctx, insertAuditEntry, e.ID, e.OccurredAt, e.Actor.ID, string(e.Actor.Kind),
		string(e.Action), e.TargetID, e.ClientAddress, e.TraceID, string(e.Outcome))
	if err != nil {
		if pgerr.Unavailable(err) {
			return false, fmt.Errorf("postgres: insert audit entry: %w: %w", audit.ErrUnavailable, err)
		}
		return false, fmt.Errorf("postgres: insert audit entry: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("postgres: insert audit entry: %w", err)
	}
	return n == 1, nil
}

// Prune deletes up to limit entries that occurred before before, oldest
// first, and returns how many it deleted.
func (l *AuditLog) Prune(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := l.primary.ExecContext(ctx, pruneAudit, before, limit)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune audit log: %w", err)
	}
	return res.RowsAffected()
}

// List returns up to q.Limit entries matching q, newest first, from the
// replica (the primary when the replica cannot answer). Like Users.List,
// the statement is built for the filters present and sent unprepared, so
// each is planned with its values against the index that serves it.
func (l *AuditLog) List(ctx context.Context, q audit.Query) ([]audit.Entry, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.UserID != "" {
		p := arg(q.UserID)
		where = append(where, "(target_user_id = "+p+"::uuid OR actor_user_id = "+p+"::uuid)")
	}
	if q.ActorID != "" {
		where = append(where, "actor_user_id = "+arg(q.ActorID)+"::uuid")
	}
	if q.Action != "" {
		where = append(where, "action = "+arg(string(q.Action)))
	}
	if q.Before != nil {
		where = append(where, "(occurred_at, event_id) < ("+arg(q.Before.OccurredAt)+", "+arg(q.Before.ID)+"::uuid)")
	}
	query := selectAudit
	if len(where) > 0 {
		query += "\n\tWHERE " + strings.Join(where, " AND ")
	}
	query += "\n\tORDER BY occurred_at DESC, event_id DESC\n\tLIMIT " + arg(q.Limit)
	if l.replica != nil {
		entries, err := listAudit(ctx, l.replica, query, args)
		if err == nil || ctx.Err() != nil {
			return entries, err
		}
	}
	return listAudit(ctx, l.primary, query, args)
}

type auditRow struct {
	EventID       string    `db:"event_id"`
	OccurredAt    time.Time `db:"occurred_at"`
	ActorUserID   string    `db:"actor_user_id"`
	ActorKind     string    `db:"actor_kind"`
	Action        string    `db:"action"`
	TargetUserID  string    `db:"target_user_id"`
	ClientAddress string    `db:"client_address"`
	TraceID       string    `db:"trace_id"`
	Outcome       string    `db:"outcome"`
}

func listAudit(ctx context.Context, db *sqlx.DB, query string, args []any) ([]audit.Entry, error) {
	var rows []auditRow
	if err := db.SelectContext(ctx, &rows, query, args...); err != nil && err != sql.ErrNoRows {
		return nil, fmt.Errorf("postgres: list audit entries: %w", err)
	}
	out := make([]audit.Entry, len(rows))
	for i, r := range rows {
		out[i] = audit.Entry{
			ID:            r.EventID,
			OccurredAt:    r.OccurredAt.UTC(),
			Actor:         audit.Actor{ID: r.ActorUserID, Kind: audit.ActorKind(r.ActorKind)},
			Action:        audit.Action(r.Action),
			TargetID:      r.TargetUserID,
			ClientAddress: r.ClientAddress,
			TraceID:       r.TraceID,
			Outcome:       audit.Outcome(r.Outcome),
		}
	}
	return out, nil
}
