package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/postgres"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// TestOnCommittedSeesOnlyCommittedRecords checks the hook a relay uses to
// publish at once: it gets the record that was stored, after the row is
// visible to other connections, and nothing when Create fails.
func TestOnCommittedSeesOnlyCommittedRecords(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	var (
		built     []outbox.Record
		committed []outbox.Record
		visible   []int
	)
	users := postgres.NewUsers(primary, nil,
		recordingEvent(func(r outbox.Record) { built = append(built, r) }),
		postgres.OnCommitted(func(r outbox.Record) {
			committed = append(committed, r)
			// Another connection than Create's: the row must be committed.
			visible = append(visible, count(t, primary, "SELECT count(*) FROM outbox WHERE id = $1", r.ID))
		}),
		withKeys,
	)

	u := newUser(t)
	if err := users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	dup := newUser(t)
	dup.Email = u.Email
	if err := users.Create(ctx, dup); !errors.Is(err, user.ErrEmailTaken) {
		t.Fatalf("duplicate Create = %v, want ErrEmailTaken", err)
	}

	if len(built) != 2 {
		t.Fatalf("EventFunc called %d times, want 2", len(built))
	}
	if len(committed) != 1 {
		t.Fatalf("OnCommitted called %d times, want 1 (not for the failed Create)", len(committed))
	}
	if got, want := committed[0], built[0]; got.ID != want.ID || got.Key != u.ID || got.Topic != want.Topic || string(got.Payload) != string(want.Payload) {
		t.Errorf("committed record = %+v, want %+v", got, want)
	}
	if visible[0] != 1 {
		t.Errorf("outbox row visible to another connection in OnCommitted: %d rows, want 1", visible[0])
	}
}

func TestOnCommittedNotCalledWithoutEvent(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	calls := 0
	users := postgres.NewUsers(primary, nil, nil, postgres.OnCommitted(func(outbox.Record) { calls++ }))
	if err := users.Create(ctx, newUser(t)); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Fatalf("OnCommitted called %d times for a Create without an event, want 0", calls)
	}
}
