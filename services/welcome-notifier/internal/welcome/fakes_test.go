package welcome_test

import (
	"context"
	"sync"

	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
)

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
