package authtest

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/auth"
)

// AuditLog is the in-memory audit log: auth.AuditRecorder and
// auth.AuditLog at once, as if the outbox, the topic and the consumer
// between them took no time. A Users whose Audit is set records the
// entries of its changes here, as the PostgreSQL store writes them with
// the changes.
type AuditLog struct {
	mu      sync.Mutex
	entries []audit.Entry
}

var (
	_ auth.AuditRecorder = (*AuditLog)(nil)
	_ auth.AuditLog      = (*AuditLog)(nil)
)

// Record stores e, filling its id, time and outcome as the outbox does.
func (l *AuditLog) Record(_ context.Context, e audit.Entry) error {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.OccurredAt.IsZero() {
		// PostgreSQL's resolution, which page tokens carry.
		e.OccurredAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	if e.Outcome == "" {
		e.Outcome = audit.OutcomeSuccess
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
	return nil
}

// Entries returns every entry in the order recorded.
func (l *AuditLog) Entries() []audit.Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.entries)
}

// List returns the entries matching q, newest first.
func (l *AuditLog) List(_ context.Context, q audit.Query) ([]audit.Entry, error) {
	l.mu.Lock()
	var out []audit.Entry
	for _, e := range l.entries {
		switch {
		case q.UserID != "" && e.TargetID != q.UserID && e.Actor.ID != q.UserID,
			q.ActorID != "" && e.Actor.ID != q.ActorID,
			q.Action != "" && e.Action != q.Action,
			q.Before != nil && (e.OccurredAt.After(q.Before.OccurredAt) || e.OccurredAt.Equal(q.Before.OccurredAt) && e.ID >= q.Before.ID):
			continue
		}
		out = append(out, e)
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b audit.Entry) int {
		return cmp.Or(b.OccurredAt.Compare(a.OccurredAt), cmp.Compare(b.ID, a.ID))
	})
	return out[:min(len(out), q.Limit)], nil
}

// audited records e in m.Audit, when set.
func (m *Users) audited(e audit.Entry) {
	if m.Audit != nil {
		_ = m.Audit.Record(context.Background(), e)
	}
}
