package auth

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssokit/platform/services/sso/internal/user"
)

// Label values of the metrics.
const (
	loginSuccess   = "success"
	loginInvalid   = "invalid"
	loginThrottled = "throttled"
	// loginUnverified: the right password, refused because logins
	// require a verified address and this one is not.
	loginUnverified = "unverified"

	kindAccess  = "access"
	kindRefresh = "refresh"
	kindFamily  = "family"
)

// Why sessions were ended, as sso_sessions_revoked_total labels them.
const (
	// ReasonSessionDeleted: the user ended one of its sessions.
	ReasonSessionDeleted = "session_deleted"
	// ReasonRevokeAll: the user logged out everywhere.
	ReasonRevokeAll = "revoke_all"
	// ReasonPasswordReset: the password was reset by a mailed token.
	ReasonPasswordReset = "password_reset"
	// ReasonPasswordChanged: the user changed its password.
	ReasonPasswordChanged = "password_changed"
	// ReasonAdmin: an administrator disabled the user, revoked its
	// administrator role or ended its sessions.
	ReasonAdmin = "admin"
	// ReasonAccountDeleted: the account was deleted.
	ReasonAccountDeleted = "account_deleted"
)

var sessionReasons = [...]string{ReasonSessionDeleted, ReasonRevokeAll, ReasonPasswordReset, ReasonPasswordChanged, ReasonAdmin, ReasonAccountDeleted}

// Metrics counts what the use cases decide, for the dashboards and the
// security alerts:
//
//	sso_logins_total{outcome}          success, invalid (wrong or malformed credentials), throttled
//	sso_tokens_issued_total{kind}      access, refresh: tokens handed out by register, login and refresh
//	sso_tokens_refreshed_total         successful refresh-token rotations
//	sso_tokens_revoked_total{kind}     access (logout), family (logout, refresh token reuse)
//	sso_refresh_reuse_detected_total   rotated refresh tokens presented again
//	sso_sessions_revoked_total{reason} sessions ended by the sessions API or with all of a user's:
//	                                   session_deleted, revoke_all, password_reset, password_changed, admin,
//	                                   account_deleted
//	sso_admin_actions_total{action,outcome}
//	                                   admin API calls: action list, get, disable, enable, grant, revoke,
//	                                   revoke_sessions, delete, audit; outcome success, forbidden, unauthenticated,
//	                                   invalid, not_found, refused (on oneself), error
//	sso_throttled_total{op,limit}      attempts refused by a limit, before any hashing: op login
//	                                   (limit account_address, account, address) or register (address)
//
// Calls that fail for want of a dependency (Redis or PostgreSQL down) are
// not counted here: the gRPC metrics count them by status code. A nil
// *Metrics counts nothing.
type Metrics struct {
	logins    *prometheus.CounterVec
	issued    *prometheus.CounterVec
	refreshed prometheus.Counter
	revoked   *prometheus.CounterVec
	reused    prometheus.Counter
	throttles *prometheus.CounterVec
	tokens    *prometheus.CounterVec
	flows     *prometheus.CounterVec
	sessions  *prometheus.CounterVec
	admin     *prometheus.CounterVec
}

// NewMetrics registers the use-case metrics on reg, every label value at
// zero.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sso_logins_total",
			Help: "Login attempts by outcome: success, invalid (wrong or malformed e-mail or password), throttled (refused after too many failures), unverified (the right password for an address not verified, where logins require it).",
		}, []string{"outcome"}),
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sso_tokens_issued_total",
			Help: "Tokens handed out by register, login and refresh, by kind: access, refresh.",
		}, []string{"kind"}),
		refreshed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sso_tokens_refreshed_total",
			Help: "Successful refresh-token rotations.",
		}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sso_tokens_revoked_total",
			Help: "Revocations by kind: access (an access token at logout), family (every refresh token of a login, at logout or on reuse).",
		}, []string{"kind"}),
		reused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sso_refresh_reuse_detected_total",
			Help: "Refresh tokens presented again after their rotation; each revoked its family.",
		}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sso_throttled_total",
			Help: "Attempts refused by a throttling limit before any password was hashed, by op (login, register) and limit: account_address (one account from one client address), account (one account from everywhere: an account under attack), address (one client address).",
		}, []string{"op", "limit"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sso_account_tokens_total",
			Help: "Uses of mailed one-time tokens by purpose (email-verification, password-reset) and outcome: success, invalid (unknown, expired, used, superseded or forged token, or a bad field), throttled, error (a dependency failed).",
		}, []string{"purpose", "outcome"}),
		flows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sso_account_requests_total",
			Help: "Account requests by flow (resend_verification, forgot_password, change_password, delete_account) and outcome: success, invalid, throttled, error.",
		}, []string{"flow", "outcome"}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sso_sessions_revoked_total",
			Help: "Sessions (refresh-token families, with their access tokens) ended by reason: session_deleted (the user ended one), revoke_all (the user logged out everywhere), password_reset, password_changed, admin (an administrator disabled the user, revoked its role or ended its sessions), account_deleted.",
		}, []string{"reason"}),
		admin: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sso_admin_actions_total",
			Help: "Admin API calls by action (list, get, disable, enable, grant, revoke, revoke_sessions, delete, audit) and outcome: success, forbidden (not an administrator), unauthenticated, invalid, not_found, refused (an administrator disabling, demoting or deleting itself), error.",
		}, []string{"action", "outcome"}),
	}
	for _, a := range adminActions {
		for _, o := range adminOutcomes {
			m.admin.WithLabelValues(a, o)
		}
	}
	for _, o := range []string{loginSuccess, loginInvalid, loginThrottled, loginUnverified} {
		m.logins.WithLabelValues(o)
	}
	m.issued.WithLabelValues(kindAccess)
	m.issued.WithLabelValues(kindRefresh)
	m.revoked.WithLabelValues(kindAccess)
	m.revoked.WithLabelValues(kindFamily)
	for _, l := range loginScopes {
		m.throttles.WithLabelValues(opLogin, l)
	}
	m.throttles.WithLabelValues(opRegister, "address")
	for _, o := range accountOutcomes {
		for _, p := range []string{"email-verification", "password-reset"} {
			m.tokens.WithLabelValues(p, o)
		}
		for _, f := range []string{opResend, opForgot, "change_password", "delete_account"} {
			m.flows.WithLabelValues(f, o)
		}
	}
	for _, op := range []string{opResend, opForgot} {
		m.throttles.WithLabelValues(op, "account")
		m.throttles.WithLabelValues(op, "address")
	}
	m.throttles.WithLabelValues(opReset, "address")
	for _, r := range sessionReasons {
		m.sessions.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{m.logins, m.issued, m.refreshed, m.revoked, m.reused, m.throttles, m.sessions, m.tokens, m.flows, m.admin} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("auth metrics: %w", err)
		}
	}
	return m, nil
}

// Option configures NewService.
type Option func(*Service)

// WithMetrics makes the Service count its decisions on m.
func WithMetrics(m *Metrics) Option {
	return func(s *Service) { s.metrics = m }
}

// login counts a login that ended in err; errors that are not the
// caller's (a dependency down) are left to the gRPC metrics.
func (m *Metrics) login(err error) {
	if m == nil {
		return
	}
	var throttled *ThrottledError
	var invalidArg *InvalidArgumentError
	switch {
	case err == nil:
		m.logins.WithLabelValues(loginSuccess).Inc()
	case errors.Is(err, ErrInvalidCredentials), errors.As(err, &invalidArg):
		m.logins.WithLabelValues(loginInvalid).Inc()
	case errors.As(err, &throttled):
		m.logins.WithLabelValues(loginThrottled).Inc()
	case errors.Is(err, ErrEmailNotVerified):
		m.logins.WithLabelValues(loginUnverified).Inc()
	}
}

// tokenPair counts an access and a refresh token handed out.
func (m *Metrics) tokenPair() {
	if m == nil {
		return
	}
	m.issued.WithLabelValues(kindAccess).Inc()
	m.issued.WithLabelValues(kindRefresh).Inc()
}

func (m *Metrics) refresh() {
	if m == nil {
		return
	}
	m.refreshed.Inc()
}

func (m *Metrics) revoke(kind string) {
	if m == nil {
		return
	}
	m.revoked.WithLabelValues(kind).Inc()
}

// reuse counts a rotated refresh token presented again, which revoked its
// family.
func (m *Metrics) reuse() {
	if m == nil {
		return
	}
	m.reused.Inc()
	m.revoked.WithLabelValues(kindFamily).Inc()
}

// throttled counts an attempt of op refused by the limit named scope.
func (m *Metrics) throttled(op, scope string) {
	if m == nil {
		return
	}
	m.throttles.WithLabelValues(op, scope).Inc()
}

var accountOutcomes = []string{"success", "invalid", "throttled", "error"}

// accountOutcome is the outcome label of an account request that ended
// with err.
func accountOutcome(err error) string {
	var throttled *ThrottledError
	var invalidArg *InvalidArgumentError
	switch {
	case err == nil:
		return "success"
	case errors.As(err, &throttled):
		return "throttled"
	case errors.Is(err, ErrTokenInvalid), errors.Is(err, ErrInvalidToken), errors.Is(err, ErrUnauthenticated),
		errors.Is(err, ErrAlreadyVerified), errors.As(err, &invalidArg):
		return "invalid"
	default:
		return "error"
	}
}

func (m *Metrics) tokenUse(purpose user.Purpose, err error) {
	if m == nil {
		return
	}
	m.tokens.WithLabelValues(string(purpose), accountOutcome(err)).Inc()
}

func (m *Metrics) flow(flow string, err error) {
	if m == nil {
		return
	}
	m.flows.WithLabelValues(flow, accountOutcome(err)).Inc()
}

// sessionsEnded counts n sessions ended for reason.
func (m *Metrics) sessionsEnded(reason string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.sessions.WithLabelValues(reason).Add(float64(n))
}

// adminAction counts one admin API call by the outcome err says.
func (m *Metrics) adminAction(action string, err error) {
	if m == nil {
		return
	}
	m.admin.WithLabelValues(action, adminOutcome(err)).Inc()
}
