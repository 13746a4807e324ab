package auditfeed

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssokit/platform/services/sso/internal/audit"
)

// Events is the sso_audit_events_total counter of action.
func (h *Handler) Events(action audit.Action) prometheus.Counter {
	return h.events.WithLabelValues(string(action))
}
