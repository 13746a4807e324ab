package ledger

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values of the metrics.
const (
	creditWelcomeBonus = "welcome_bonus"
	creditDeposit      = "deposit"

	opDeposit  = "deposit"
	opWithdraw = "withdraw"

	outcomeApplied           = "applied"
	outcomeReplayed          = "replayed"
	outcomeInsufficientFunds = "insufficient_funds"
	outcomeRejected          = "rejected"
)

// Metrics counts the points the ledger moves and the balance operations
// it is asked for:
//
//	loyalty_points_credited_total{kind}            points credited: welcome_bonus, deposit
//	loyalty_points_debited_total                   points debited by withdrawals
//	loyalty_balance_operations_total{op, outcome}  deposits and withdrawals (op deposit, withdraw) by outcome
//
// The outcomes are applied, replayed (a retry with the same idempotency
// key, answered from the recorded transaction: no points moved),
// insufficient_funds, and rejected (refused for the request's sake: no or
// a bad token, not an administrator, invalid input, no such account, an
// idempotency key reused for another operation, a balance overflow). An
// operation that fails for want of a dependency (sso or the database
// unavailable) is not counted here: the gRPC metrics count it by status
// code. A nil *Metrics counts nothing.
type Metrics struct {
	credited   *prometheus.CounterVec
	debited    prometheus.Counter
	operations *prometheus.CounterVec
}

// NewMetrics registers the ledger metrics on reg, every label value at
// zero.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		credited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loyalty_points_credited_total",
			Help: "Points credited to accounts, by kind: welcome_bonus, deposit.",
		}, []string{"kind"}),
		debited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loyalty_points_debited_total",
			Help: "Points debited from accounts by withdrawals.",
		}),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loyalty_balance_operations_total",
			Help: "Deposits and withdrawals by op and outcome: applied, replayed (same idempotency key, nothing moved), insufficient_funds, rejected (authentication, permission, input, unknown account, reused key, overflow).",
		}, []string{"op", "outcome"}),
	}
	m.credited.WithLabelValues(creditWelcomeBonus)
	m.credited.WithLabelValues(creditDeposit)
	for _, op := range []string{opDeposit, opWithdraw} {
		for _, o := range []string{outcomeApplied, outcomeReplayed, outcomeInsufficientFunds, outcomeRejected} {
			m.operations.WithLabelValues(op, o)
		}
	}
	for _, c := range []prometheus.Collector{m.credited, m.debited, m.operations} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ledger metrics: %w", err)
		}
	}
	return m, nil
}

// Option configures NewService.
type Option func(*Service)

// WithMetrics makes the Service count on m.
func WithMetrics(m *Metrics) Option {
	return func(s *Service) { s.metrics = m }
}

func (m *Metrics) welcomeBonus(points int64) {
	if m != nil {
		m.credited.WithLabelValues(creditWelcomeBonus).Add(float64(points))
	}
}

// change counts a deposit or withdrawal of points that ended in err;
// applied says whether it moved the points.
func (m *Metrics) change(kind Kind, points int64, applied bool, err error) {
	if m == nil {
		return
	}
	op := opDeposit
	if kind == KindWithdrawal {
		op = opWithdraw
	}
	var invalidArg *InvalidArgumentError
	outcome := outcomeRejected
	switch {
	case err == nil && applied:
		outcome = outcomeApplied
		if kind == KindWithdrawal {
			m.debited.Add(float64(points))
		} else {
			m.credited.WithLabelValues(creditDeposit).Add(float64(points))
		}
	case err == nil:
		outcome = outcomeReplayed
	case errors.Is(err, ErrInsufficientFunds):
		outcome = outcomeInsufficientFunds
	case errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrInvalidToken), errors.Is(err, ErrForbidden),
		errors.Is(err, ErrNotFound), errors.Is(err, ErrIdempotencyKeyReused), errors.Is(err, ErrBalanceOverflow),
		errors.As(err, &invalidArg):
	default:
		return // a dependency failed
	}
	m.operations.WithLabelValues(op, outcome).Inc()
}
