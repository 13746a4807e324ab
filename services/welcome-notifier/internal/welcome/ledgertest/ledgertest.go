// Package ledgertest holds every welcome.Ledger to one contract: Run is
// the suite, called by the tests of the PostgreSQL ledger and of Memory,
// the in-memory ledger the use case's unit tests use. A fake that passes
// Run behaves, as far as the use case can tell, like the real ledger.
package ledgertest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ssokit/platform/services/welcome-notifier/internal/mail"
	"github.com/ssokit/platform/services/welcome-notifier/internal/welcome"
)

// Run tests the ledgers newLedger returns. Its subtests run in parallel
// and may share one ledger: each works on users of its own.
func Run(t *testing.T, newLedger func(t *testing.T) welcome.Ledger) {
	t.Run("sends once per user", func(t *testing.T) {
		t.Parallel()
		l := newLedger(t)
		d := delivery()
		var c counter
		if got, err := l.Once(t.Context(), d, c.send); err != nil || got != welcome.Sent {
			t.Fatalf("first Once = %v, %v; want Sent", got, err)
		}
		// The same event redelivered, and another event for the same user.
		other := d
		other.EventID = uuid.NewString()
		other.Email = "ada.new@example.test"
		for _, again := range []welcome.Delivery{d, other} {
			if got, err := l.Once(t.Context(), again, c.send); err != nil || got != welcome.AlreadySent {
				t.Fatalf("Once again = %v, %v; want AlreadySent", got, err)
			}
		}
		if n := c.calls.Load(); n != 1 {
			t.Fatalf("send called %d times, want 1", n)
		}
	})

	t.Run("an erased user gets no more mail", func(t *testing.T) {
		t.Parallel()
		l := newLedger(t)
		d := delivery()
		var c counter
		if got, err := l.Once(t.Context(), d, c.send); err != nil || got != welcome.Sent {
			t.Fatalf("first Once = %v, %v; want Sent", got, err)
		}
		// Twice: a redelivered UserDeleted.
		for range 2 {
			if err := l.Erase(t.Context(), d.UserID, uuid.NewString()); err != nil {
				t.Fatalf("Erase: %v", err)
			}
		}
		reset := accountDelivery(mail.PasswordReset)
		reset.UserID = d.UserID
		late := d
		late.EventID = uuid.NewString()
		for _, again := range []welcome.Delivery{d, late, reset} {
			if got, err := l.Once(t.Context(), again, c.send); err != nil || got != welcome.Erased {
				t.Fatalf("Once of an erased user = %v, %v; want Erased", got, err)
			}
		}
		if n := c.calls.Load(); n != 1 {
			t.Fatalf("send called %d times, want 1", n)
		}
		// Others are not affected, and a user never mailed can be erased.
		other := delivery()
		if err := l.Erase(t.Context(), uuid.NewString(), uuid.NewString()); err != nil {
			t.Fatalf("Erase of an unknown user: %v", err)
		}
		if got, err := l.Once(t.Context(), other, c.send); err != nil || got != welcome.Sent {
			t.Fatalf("Once of another user = %v, %v; want Sent", got, err)
		}
	})

	t.Run("account mails send once per event", func(t *testing.T) {
		t.Parallel()
		l := newLedger(t)
		d := accountDelivery(mail.PasswordReset)
		var c counter
		if got, err := l.Once(t.Context(), d, c.send); err != nil || got != welcome.Sent {
			t.Fatalf("first Once = %v, %v; want Sent", got, err)
		}
		if got, err := l.Once(t.Context(), d, c.send); err != nil || got != welcome.AlreadySent {
			t.Fatalf("Once of the redelivered event = %v, %v; want AlreadySent", got, err)
		}
		// The same user asks again: a new event, a new mail.
		again := accountDelivery(mail.PasswordReset)
		again.UserID = d.UserID
		if got, err := l.Once(t.Context(), again, c.send); err != nil || got != welcome.Sent {
			t.Fatalf("Once of the user's second request = %v, %v; want Sent", got, err)
		}
		if n := c.calls.Load(); n != 2 {
			t.Fatalf("send called %d times, want 2", n)
		}
	})

	t.Run("account mails and the welcome do not share a record", func(t *testing.T) {
		t.Parallel()
		l := newLedger(t)
		w := delivery()
		var c counter
		for _, kind := range []mail.Kind{mail.VerifyEmail, mail.PasswordChanged} {
			d := accountDelivery(kind)
			d.UserID = w.UserID
			if got, err := l.Once(t.Context(), d, c.send); err != nil || got != welcome.Sent {
				t.Fatalf("Once of %s = %v, %v; want Sent", kind, got, err)
			}
		}
		// The welcome's event id equals an account mail's: still its own mail.
		w.EventID = accountDelivery(mail.VerifyEmail).EventID
		if got, err := l.Once(t.Context(), w, c.send); err != nil || got != welcome.Sent {
			t.Fatalf("Once of the welcome = %v, %v; want Sent", got, err)
		}
		if n := c.calls.Load(); n != 3 {
			t.Fatalf("send called %d times, want 3", n)
		}
	})

	t.Run("users are independent", func(t *testing.T) {
		t.Parallel()
		l := newLedger(t)
		var c counter
		for range 2 {
			if got, err := l.Once(t.Context(), delivery(), c.send); err != nil || got != welcome.Sent {
				t.Fatalf("Once for a new user = %v, %v; want Sent", got, err)
			}
		}
		if n := c.calls.Load(); n != 2 {
			t.Fatalf("send called %d times for two users, want 2", n)
		}
	})

	t.Run("a failed send is returned and tried again", func(t *testing.T) {
		t.Parallel()
		l := newLedger(t)
		d := delivery()
		down := errors.New("smtp connect: connection refused")
		failing := counter{err: down}
		for range 2 {
			if got, err := l.Once(t.Context(), d, failing.send); !errors.Is(err, down) || got != 0 {
				t.Fatalf("Once with a failing send = %v, %v; want the send error", got, err)
			}
		}
		var ok counter
		if got, err := l.Once(t.Context(), d, ok.send); err != nil || got != welcome.Sent {
			t.Fatalf("Once after recovery = %v, %v; want Sent", got, err)
		}
		if got, err := l.Once(t.Context(), d, ok.send); err != nil || got != welcome.AlreadySent {
			t.Fatalf("Once after the mail went out = %v, %v; want AlreadySent", got, err)
		}
		if failing.calls.Load() != 2 || ok.calls.Load() != 1 {
			t.Fatalf("send called %d times failing and %d times succeeding, want 2 and 1", failing.calls.Load(), ok.calls.Load())
		}
	})

	t.Run("concurrent deliveries of one user send once", func(t *testing.T) {
		t.Parallel()
		l := newLedger(t)
		d := delivery()
		// Slow enough that the other deliveries arrive while the first sends.
		c := counter{delay: 200 * time.Millisecond}
		const deliveries = 5
		var (
			wg       sync.WaitGroup
			outcomes [deliveries]welcome.Outcome
			errs     [deliveries]error
			release  = make(chan struct{})
		)
		for i := range deliveries {
			wg.Go(func() {
				<-release
				outcomes[i], errs[i] = l.Once(t.Context(), d, c.send)
			})
		}
		close(release)
		wg.Wait()
		sent := 0
		for i := range deliveries {
			if errs[i] != nil {
				t.Fatalf("delivery %d: %v", i, errs[i])
			}
			if outcomes[i] == welcome.Sent {
				sent++
			}
		}
		if sent != 1 || c.calls.Load() != 1 {
			t.Fatalf("outcomes %v, send called %d times; want one Sent and one call", outcomes, c.calls.Load())
		}
	})

	t.Run("an accepted mail is recorded despite cancellation", func(t *testing.T) {
		t.Parallel()
		l := newLedger(t)
		d := delivery()
		// The mail server accepted the mail, then the caller's context
		// ended (shutdown, handler timeout) before the record was written.
		ctx, cancel := context.WithCancel(t.Context())
		accepted := func(context.Context) error { cancel(); return nil }
		if got, err := l.Once(ctx, d, accepted); err != nil || got != welcome.Sent {
			t.Fatalf("Once = %v, %v; want Sent", got, err)
		}
		var c counter
		if got, err := l.Once(t.Context(), d, c.send); err != nil || got != welcome.AlreadySent || c.calls.Load() != 0 {
			t.Fatalf("Once after the cancelled record = %v, %v (send called %d times); want AlreadySent", got, err, c.calls.Load())
		}
	})

	t.Run("a cancelled call sends nothing", func(t *testing.T) {
		t.Parallel()
		l := newLedger(t)
		d := delivery()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var c counter
		if _, err := l.Once(ctx, d, c.send); !errors.Is(err, context.Canceled) {
			t.Fatalf("Once with a cancelled context = %v, want context.Canceled", err)
		}
		if c.calls.Load() != 0 {
			t.Fatal("send called with a cancelled context")
		}
		if got, err := l.Once(t.Context(), d, c.send); err != nil || got != welcome.Sent {
			t.Fatalf("Once after the cancelled call = %v, %v; want Sent", got, err)
		}
	})
}

func accountDelivery(kind mail.Kind) welcome.Delivery {
	ev := uuid.NewString()
	return welcome.Delivery{
		Kind:      kind,
		UserID:    uuid.NewString(),
		EventID:   ev,
		Email:     "ada@example.test",
		MessageID: kind.MessageID(ev, "ssokit.local"),
	}
}

func delivery() welcome.Delivery {
	id := uuid.NewString()
	return welcome.Delivery{
		Kind:      mail.Welcome,
		UserID:    id,
		EventID:   uuid.NewString(),
		Email:     "ada@example.test",
		MessageID: "welcome." + id + "@ssokit.local",
	}
}

// counter is a send function that counts its calls and returns err,
// after delay when that is set.
type counter struct {
	calls atomic.Int32
	err   error
	delay time.Duration
}

func (c *counter) send(ctx context.Context) error {
	c.calls.Add(1)
	if c.delay > 0 {
		select {
		case <-time.After(c.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return c.err
}
