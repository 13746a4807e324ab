package welcome_test

import (
	"context"
	"sync"

	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

// memLedger is welcome.Ledger in memory, with the contract's semantics:
// one successful send per user, calls for one user serialized.
type memLedger struct {
	mu       sync.Mutex
	sent     map[string]welcome.Delivery
	attempts map[string]int
	err      error // returned before send is considered
}

func newMemLedger() *memLedger {
	return &memLedger{sent: map[string]welcome.Delivery{}, attempts: map[string]int{}}
}

func (l *memLedger) Once(ctx context.Context, d welcome.Delivery, send func(context.Context) error) (welcome.Outcome, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return 0, l.err
	}
	if _, ok := l.sent[d.UserID]; ok {
		return welcome.AlreadySent, nil
	}
	l.attempts[d.UserID]++
	if err := send(ctx); err != nil {
		return 0, err
	}
	l.sent[d.UserID] = d
	return welcome.Sent, nil
}

// fakeSender records what it was asked to send and fails while err is set.
type fakeSender struct {
	mu   sync.Mutex
	msgs []mail.Message
	err  error
}

func (s *fakeSender) Send(_ context.Context, m mail.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.msgs = append(s.msgs, m)
	return nil
}

func (s *fakeSender) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *fakeSender) sent() []mail.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mail.Message(nil), s.msgs...)
}
