package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/outbox"
)

var _ auth.AuditRecorder = (*Users)(nil)

// WithAuditEvents has Users write the audit entries of the changes it
// stores, built by fn, in the same transactions. Without it no entry is
// written: a store for tests that do not look at the log.
func WithAuditEvents(fn outbox.AuditEventFunc) Option {
	return func(u *Users) { u.audit = fn }
}

// insertAudit writes the outbox row of e within tx. Its aggregate_id is the
// event's own id, not the target's: the deletion of an account removes the
// account's earlier events (they carry its address), and must leave its
// audit entries, which carry none, on their way to the log.
func (r *Users) insertAudit(ctx context.Context, tx sqlx.ExecerContext, e audit.Entry) ([]outbox.Record, error) {
	if r.audit == nil {
		return nil, nil
	}
	rec, err := r.audit(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("build %s audit event: %w", e.Action, err)
	}
	tc, err := traceJSON(rec)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, insertAccountEvent, rec.ID, rec.ID, rec.EventType, rec.Topic, rec.Key, nonNil(rec.Payload), tc); err != nil {
		return nil, fmt.Errorf("insert %s audit event: %w", e.Action, err)
	}
	return []outbox.Record{rec}, nil
}

// Record stores the audit entry of an event that changed nothing in the
// database (a refresh-token reuse, sessions ended, a burst of failed
// logins): one outbox row, published right after it is written.
func (r *Users) Record(ctx context.Context, e audit.Entry) error {
	recs, err := r.insertAudit(ctx, r.primary.db, e)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	r.publish(recs)
	return nil
}
