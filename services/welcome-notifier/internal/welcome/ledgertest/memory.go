package ledgertest

import (
	"context"
	"sync"

	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

// Memory is welcome.Ledger in memory, for unit tests of the use case. Run
// holds it to the same contract as the PostgreSQL ledger. It serializes
// every call, not only those of one user: simpler, and slower only in
// tests that send concurrently.
type Memory struct {
	mu       sync.Mutex
	sent     map[string]welcome.Delivery
	attempts map[string]int
	erased   map[string]bool
	err      error
}

var _ welcome.Ledger = (*Memory)(nil)

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{sent: map[string]welcome.Delivery{}, attempts: map[string]int{}, erased: map[string]bool{}}
}

// Once implements welcome.Ledger.
func (m *Memory) Once(ctx context.Context, d welcome.Delivery, send func(context.Context) error) (welcome.Outcome, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if m.erased[d.UserID] {
		return welcome.Erased, nil
	}
	k := key(d)
	if _, ok := m.sent[k]; ok {
		return welcome.AlreadySent, nil
	}
	m.attempts[k]++
	if err := send(ctx); err != nil {
		return 0, err
	}
	m.sent[k] = d
	return welcome.Sent, nil
}

// Erase implements welcome.Ledger.
func (m *Memory) Erase(ctx context.Context, userID, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.erased[userID] = true
	for k, d := range m.sent {
		if d.UserID == userID {
			d.Email = ""
			m.sent[k] = d
		}
	}
	return nil
}

// FailWith makes every later Once return err without calling send, as a
// ledger whose database does not answer; nil heals it.
func (m *Memory) FailWith(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

// key is what one mail is recorded under: the user of a welcome, the
// event of an account mail.
func key(d welcome.Delivery) string {
	if d.Kind.PerEvent() {
		return "event:" + d.EventID
	}
	return "user:" + d.UserID
}

// Attempts returns how often send was called for userID's welcome.
func (m *Memory) Attempts(userID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attempts["user:"+userID]
}

// EventAttempts returns how often send was called for eventID's account
// mail.
func (m *Memory) EventAttempts(eventID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attempts["event:"+eventID]
}
