package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ssokit/platform/services/sso/internal/audit"
)

// actionAudit labels ListAuditEvents in sso_admin_actions_total.
const actionAudit = "audit"

// AuditRequest is the question of ListAuditEvents.
type AuditRequest struct {
	// PageSize is at most MaxPageSize; 0 means DefaultPageSize.
	PageSize int
	// PageToken is the NextPageToken of the previous page, or empty.
	PageToken string
	// UserID selects entries whose target or actor is the user.
	UserID string
	// ActorID selects entries the user did.
	ActorID string
	// Action selects one action; empty selects all.
	Action audit.Action
}

// AuditPage is one page of the audit log, newest first.
type AuditPage struct {
	Entries []audit.Entry
	// NextPageToken continues the listing; empty on the last page.
	NextPageToken string
}

// ListAuditEvents returns one page of the audit log to an administrator.
func (s *Service) ListAuditEvents(ctx context.Context, accessToken string, r AuditRequest) (page AuditPage, err error) {
	defer func() { s.metrics.adminAction(actionAudit, err) }()
	if _, err := s.authorizeAdmin(ctx, accessToken); err != nil {
		return AuditPage{}, err
	}
	if s.auditLog == nil {
		return AuditPage{}, errors.New("ListAuditEvents needs an AuditLog")
	}
	q, err := r.query()
	if err != nil {
		return AuditPage{}, err
	}
	// One more than the page: whether it exists says if a next page does.
	q.Limit++
	entries, err := s.auditLog.List(ctx, q)
	if err != nil {
		return AuditPage{}, fmt.Errorf("list audit events: %w", err)
	}
	if len(entries) < q.Limit {
		return AuditPage{Entries: entries}, nil
	}
	entries = entries[:q.Limit-1]
	last := entries[len(entries)-1]
	return AuditPage{Entries: entries, NextPageToken: encodePageKey(PageKey{CreatedAt: last.OccurredAt, ID: last.ID})}, nil
}

func (r AuditRequest) query() (audit.Query, error) {
	q := audit.Query{Limit: r.PageSize, Action: r.Action}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultPageSize
	case q.Limit < 0 || q.Limit > MaxPageSize:
		return audit.Query{}, invalid("page_size", fmt.Sprintf("page_size must be between 1 and %d", MaxPageSize))
	}
	for _, f := range []struct {
		name string
		in   string
		out  *string
	}{{"user_id", r.UserID, &q.UserID}, {"actor_id", r.ActorID, &q.ActorID}} {
		if f.in == "" {
			continue
		}
		id, err := uuid.Parse(f.in)
		if err != nil || len(f.in) != len(id.String()) {
			return audit.Query{}, invalid(f.name, f.name+" must be a UUID")
		}
		*f.out = id.String()
	}
	if r.PageToken != "" {
		k, err := decodePageKey(r.PageToken)
		if err != nil {
			return audit.Query{}, invalid("page_token", "page_token is not one this listing gave")
		}
		q.Before = &audit.Key{OccurredAt: k.CreatedAt, ID: k.ID}
	}
	return q, nil
}

// recordAudit stores the entry of a security event that changed no row.
// It runs to its end even when the client has gone: the event happened.
func (s *Service) recordAudit(ctx context.Context, e audit.Entry) error {
	if s.audit == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if err := s.audit.Record(ctx, e); err != nil {
		return fmt.Errorf("record %s audit event: %w", e.Action, err)
	}
	return nil
}

// auditQuotaPrefix keys the one-attempt quotas that let only the first
// refusal of a throttle window be recorded.
const auditQuotaPrefix = "audit-trip:"

// loginBurst records that login failures tripped the limit of key (scope
// names it): once per limit and window, not once per refused attempt,
// which an attacker could otherwise turn into a flood of rows. The first
// refusal of a window takes a one-attempt quota lasting the rest of the
// window; every later refusal finds it used. That costs refused attempts
// one Redis round trip, and successful logins nothing.
//
// The target is the account when the limit is one of the account's and
// the address has one; a burst against an address nobody registered, or
// from one client address across accounts, has none. The entry never
// holds the e-mail address tried.
func (s *Service) loginBurst(ctx context.Context, email, clientIP string, te *ThrottledError) {
	if s.audit == nil || te.key == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	window := max(te.RetryAfter, time.Second)
	r, err := s.throttle.Reserve(ctx, Quota{Key: auditQuotaPrefix + te.key, Limit: 1, Window: window})
	if err != nil {
		s.log.WarnContext(ctx, "audit login failure burst", slog.Any("error", err))
		return
	}
	if r.Refused >= 0 {
		return
	}
	e := audit.Entry{Actor: audit.Anonymous(), Action: audit.ActionLoginFailureBurst, ClientAddress: clientIP, Outcome: audit.OutcomeRefused}
	if strings.HasPrefix(te.scope, "account") {
		if u, err := s.accounts.CurrentByEmail(ctx, email); err == nil {
			e.TargetID = u.ID
		}
	}
	if err := s.recordAudit(ctx, e); err != nil {
		s.log.WarnContext(ctx, "audit login failure burst", slog.Any("error", err))
	}
}
