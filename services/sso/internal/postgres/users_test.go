package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/postgres"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// newID returns a random (version 4) UUID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newUser returns a user no other test uses. CreatedAt is cut to the
// microseconds PostgreSQL keeps, so it reads back equal.
func newUser(tb testing.TB) user.User {
	return user.User{
		ID:           newID(),
		Email:        testenv.Name(tb, "u") + "@example.com",
		FullName:     "Ada Lovelace",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		CreatedAt:    time.Now().Truncate(time.Microsecond),
	}
}

func assertUser(t *testing.T, got, want user.User) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	got.CreatedAt, want.CreatedAt = time.Time{}, time.Time{}
	if got != want {
		t.Errorf("user = %+v\nwant   %+v", got, want)
	}
}

func count(t *testing.T, db *sqlx.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.GetContext(t.Context(), &n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestCreateThenFind(t *testing.T) {
	t.Parallel()
	primary, replica := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users := postgres.NewUsers(primary, replica, nil)

	admin := newUser(t)
	admin.IsAdmin = true
	admin.FullName = "Zoë Ångström-Łukasiewicz"
	nameless := newUser(t)
	nameless.FullName = ""
	accounts := []struct {
		name string
		user user.User
	}{
		{"admin with a non-ASCII name", admin},
		{"user without a name", nameless},
	}
	for _, a := range accounts {
		if err := users.Create(ctx, a.user); err != nil {
			t.Fatalf("Create(%s): %v", a.user.Email, err)
		}
	}

	lookups := []struct {
		name string
		find func(u user.User) (user.User, error)
	}{
		{"ByEmail", func(u user.User) (user.User, error) { return users.ByEmail(ctx, u.Email) }},
		{"ByID", func(u user.User) (user.User, error) { return users.ByID(ctx, u.ID) }},
	}
	for _, lookup := range lookups {
		for _, a := range accounts {
			t.Run(lookup.name+"/"+a.name, func(t *testing.T) {
				got, err := lookup.find(a.user)
				if err != nil {
					t.Fatal(err)
				}
				assertUser(t, got, a.user) // EventStatus "": no event without an EventFunc
			})
		}
	}
}

func TestCreateWithoutCreatedAtUsesDatabaseClock(t *testing.T) {
	t.Parallel()
	primary, replica := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users := postgres.NewUsers(primary, replica, nil)

	u := newUser(t)
	u.CreatedAt = time.Time{}
	before := time.Now()
	if err := users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := users.ByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Same machine, so the clocks agree within the call (plus rounding).
	if got.CreatedAt.Before(before.Add(-time.Second)) || got.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("CreatedAt = %v, want about %v", got.CreatedAt, before)
	}
}

func TestCreateDuplicateEmail(t *testing.T) {
	t.Parallel()
	primary, replica := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users := postgres.NewUsers(primary, replica, nil)

	first := newUser(t)
	if err := users.Create(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := newUser(t)
	second.Email = first.Email
	second.FullName = "Someone Else"
	if err := users.Create(ctx, second); !errors.Is(err, user.ErrEmailTaken) {
		t.Fatalf("second Create = %v, want ErrEmailTaken", err)
	}
	got, err := users.ByEmail(ctx, first.Email)
	if err != nil {
		t.Fatal(err)
	}
	assertUser(t, got, first)
	if _, err := users.ByID(ctx, second.ID); !errors.Is(err, user.ErrNotFound) {
		t.Fatalf("ByID(loser) = %v, want ErrNotFound", err)
	}
}

func TestCreateSameEmailConcurrently(t *testing.T) {
	t.Parallel()
	primary, replica := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users := postgres.NewUsers(primary, replica, recordingEvent(nil), withKeys)

	const racers = 8
	email := newUser(t).Email
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		ids   [racers]string
		errs  [racers]error
	)
	for i := range racers {
		u := newUser(t)
		u.Email = email
		ids[i] = u.ID
		wg.Go(func() {
			<-start
			errs[i] = users.Create(ctx, u)
		})
	}
	close(start)
	wg.Wait()

	winner := ""
	for i, err := range errs {
		switch {
		case err == nil && winner == "":
			winner = ids[i]
		case err == nil:
			t.Fatalf("two creates of %s succeeded", email)
		case !errors.Is(err, user.ErrEmailTaken):
			t.Fatalf("racer %d: %v, want nil or ErrEmailTaken", i, err)
		}
	}
	if winner == "" {
		t.Fatalf("no create of %s succeeded: %v", email, errs)
	}
	got, err := users.ByEmail(ctx, email)
	if err != nil || got.ID != winner {
		t.Fatalf("ByEmail = %+v, %v; want the winner %s", got, err, winner)
	}
	if n := count(t, primary, "SELECT count(*) FROM user_ids WHERE email = $1", email); n != 1 {
		t.Fatalf("user_ids has %d rows for %s, want 1", n, email)
	}
	if n := count(t, primary, "SELECT count(*) FROM outbox WHERE aggregate_id = ANY($1::uuid[])", pq.Array(ids[:])); n != 1 {
		t.Fatalf("outbox has %d rows for the racers, want only the winner's", n)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	primary, replica := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users := postgres.NewUsers(primary, replica, nil)

	tests := []struct {
		name string
		call func() error
	}{
		{"ByEmail unknown", func() error { _, err := users.ByEmail(ctx, "nobody-"+newID()+"@example.com"); return err }},
		{"ByEmail empty", func() error { _, err := users.ByEmail(ctx, ""); return err }},
		{"ByID unknown", func() error { _, err := users.ByID(ctx, newID()); return err }},
		{"SetPasswordHash unknown", func() error { return users.SetPasswordHash(ctx, newID(), "x") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, user.ErrNotFound) {
				t.Fatalf("got %v, want ErrNotFound", err)
			}
		})
	}
}

// TestMalformedIDMatchesNoUser needs no database: an id that is not a UUID
// is answered without a query.
func TestMalformedIDMatchesNoUser(t *testing.T) {
	t.Parallel()
	users := postgres.NewUsers(nil, nil, nil)
	for _, id := range []string{"", "42", "not-a-uuid", "0b8e2f4c-8a1d-4c4e-9f7a-0d6c3b2a1e5", "0b8e2f4c-8a1d-4c4e-9f7a-0d6c3b2a1e5g", "0b8e2f4c08a1d-4c4e-9f7a-0d6c3b2a1e5f"} {
		if _, err := users.ByID(t.Context(), id); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("ByID(%q) = %v, want ErrNotFound", id, err)
		}
		if err := users.SetPasswordHash(t.Context(), id, "x"); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("SetPasswordHash(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestSetPasswordHash(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users := postgres.NewUsers(primary, nil, nil) // read back from the primary: no lag

	u := newUser(t)
	other := newUser(t)
	for _, x := range []user.User{u, other} {
		if err := users.Create(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	const newHash = "$argon2id$v=19$m=131072,t=4,p=4$bmV3c2FsdA$bmV3aGFzaA"
	if err := users.SetPasswordHash(ctx, u.ID, newHash); err != nil {
		t.Fatal(err)
	}
	got, err := users.ByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = newHash
	assertUser(t, got, u)
	if got, err := users.ByID(ctx, other.ID); err != nil || got.PasswordHash != other.PasswordHash {
		t.Fatalf("other user's hash = %q, %v; want it untouched", got.PasswordHash, err)
	}
	var moved bool
	if err := primary.GetContext(ctx, &moved, "SELECT updated_at > created_at FROM users WHERE email = $1", u.Email); err != nil || !moved {
		t.Fatalf("updated_at > created_at = %v, %v; want true", moved, err)
	}
}

type traceKey struct{}

// recordingEvent is an EventFunc that takes the trace context from ctx (as
// the real one does) and reports each record it builds to seen.
func recordingEvent(seen func(outbox.Record)) outbox.EventFunc {
	return func(ctx context.Context, u user.User, _ []byte) (outbox.Record, error) {
		tc, _ := ctx.Value(traceKey{}).(map[string]string)
		rec := outbox.Record{
			ID:           newID(),
			Topic:        "sso.user-registered.v1",
			Key:          u.ID,
			Payload:      append([]byte{0x0a, 0x24}, u.ID...),
			TraceContext: tc,
		}
		if seen != nil {
			seen(rec)
		}
		return rec, nil
	}
}

type outboxRow struct {
	ID            string         `db:"id"`
	AggregateID   string         `db:"aggregate_id"`
	EventType     string         `db:"event_type"`
	Topic         string         `db:"topic"`
	MsgKey        string         `db:"msg_key"`
	Payload       []byte         `db:"payload"`
	TraceContext  []byte         `db:"trace_context"`
	Status        string         `db:"status"`
	Attempts      int            `db:"attempts"`
	LastError     sql.NullString `db:"last_error"`
	NextAttemptAt sql.NullTime   `db:"next_attempt_at"`
}

func TestCreateWritesOutboxRow(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	var rec outbox.Record
	users := postgres.NewUsers(primary, nil, recordingEvent(func(r outbox.Record) { rec = r }), withKeys)

	trace := map[string]string{
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"tracestate":  "vendor=opaque",
	}
	u := newUser(t)
	if err := users.Create(context.WithValue(ctx, traceKey{}, trace), u); err != nil {
		t.Fatal(err)
	}

	var rows []outboxRow
	if err := primary.SelectContext(ctx, &rows, `SELECT id, aggregate_id, event_type, topic, msg_key, payload,
		trace_context, status, attempts, last_error, next_attempt_at FROM outbox WHERE aggregate_id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("outbox has %d rows for the user, want 1", len(rows))
	}
	row := rows[0]
	var gotTrace map[string]string
	if err := json.Unmarshal(row.TraceContext, &gotTrace); err != nil {
		t.Fatalf("trace_context %s: %v", row.TraceContext, err)
	}
	checks := []struct {
		field     string
		got, want any
	}{
		{"id", row.ID, rec.ID},
		{"aggregate_id", row.AggregateID, u.ID},
		{"event_type", row.EventType, "UserRegistered"},
		{"topic", row.Topic, rec.Topic},
		{"msg_key", row.MsgKey, u.ID},
		{"payload", string(row.Payload), string(rec.Payload)},
		{"trace_context", maps.Equal(gotTrace, trace), true},
		{"status", row.Status, "inProgress"},
		{"attempts", row.Attempts, 0},
		{"last_error set", row.LastError.Valid, false},
		{"next_attempt_at set", row.NextAttemptAt.Valid, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}

	got, err := users.ByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	u.EventStatus = user.EventInProgress
	assertUser(t, got, u)
}

func TestCreateWithoutTraceContextStoresEmptyObject(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users := postgres.NewUsers(primary, nil, recordingEvent(nil), withKeys)
	u := newUser(t)
	if err := users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	if n := count(t, primary, "SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND trace_context = '{}'::jsonb", u.ID); n != 1 {
		t.Fatalf("outbox rows with an empty trace context = %d, want 1", n)
	}
}

func TestEventStatusFollowsOutbox(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users := postgres.NewUsers(primary, nil, recordingEvent(nil), withKeys)
	u := newUser(t)
	if err := users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	for _, status := range []user.EventStatus{user.EventFailed, user.EventSuccessful, user.EventInProgress} {
		if _, err := primary.ExecContext(ctx, "UPDATE outbox SET status = $2 WHERE aggregate_id = $1", u.ID, string(status)); err != nil {
			t.Fatal(err)
		}
		for name, find := range map[string]func() (user.User, error){
			"ByID":    func() (user.User, error) { return users.ByID(ctx, u.ID) },
			"ByEmail": func() (user.User, error) { return users.ByEmail(ctx, u.Email) },
		} {
			got, err := find()
			if err != nil || got.EventStatus != status {
				t.Errorf("%s after status %s: EventStatus = %q, %v", name, status, got.EventStatus, err)
			}
		}
	}
}

// TestCreateIsAtomic proves the user, its id and its event are written
// together or not at all.
func TestCreateIsAtomic(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	existing := newUser(t)
	var existingEvent outbox.Record
	if err := postgres.NewUsers(primary, nil, recordingEvent(func(r outbox.Record) { existingEvent = r }), withKeys).Create(ctx, existing); err != nil {
		t.Fatal(err)
	}
	errBuild := errors.New("cannot marshal event")

	tests := []struct {
		name    string
		user    func() user.User
		event   outbox.EventFunc
		wantErr func(error) bool
	}{
		{
			name:    "duplicate e-mail leaves no event",
			user:    func() user.User { u := newUser(t); u.Email = existing.Email; return u },
			event:   recordingEvent(nil),
			wantErr: func(err error) bool { return errors.Is(err, user.ErrEmailTaken) },
		},
		{
			name: "event that cannot be built leaves no user",
			user: func() user.User { return newUser(t) },
			event: func(context.Context, user.User, []byte) (outbox.Record, error) {
				return outbox.Record{}, errBuild
			},
			wantErr: func(err error) bool { return errors.Is(err, errBuild) },
		},
		{
			name: "event that cannot be stored leaves no user",
			user: func() user.User { return newUser(t) },
			event: func(ctx context.Context, u user.User, _ []byte) (outbox.Record, error) {
				rec, _ := recordingEvent(nil)(ctx, u, nil)
				rec.ID = existingEvent.ID // outbox primary key taken
				return rec, nil
			},
			wantErr: func(err error) bool { return err != nil && !errors.Is(err, user.ErrEmailTaken) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.user()
			err := postgres.NewUsers(primary, nil, tt.event, withKeys).Create(ctx, u)
			if !tt.wantErr(err) {
				t.Fatalf("Create = %v", err)
			}
			if n := count(t, primary, "SELECT count(*) FROM user_ids WHERE id = $1", u.ID); n != 0 {
				t.Errorf("user_ids has the failed user's id")
			}
			if n := count(t, primary, "SELECT count(*) FROM users WHERE id = $1", u.ID); n != 0 {
				t.Errorf("users has the failed user")
			}
			if n := count(t, primary, "SELECT count(*) FROM outbox WHERE aggregate_id = $1", u.ID); n != 0 {
				t.Errorf("outbox has %d rows for the failed user", n)
			}
		})
	}
	if n := count(t, primary, "SELECT count(*) FROM outbox WHERE aggregate_id = $1", existing.ID); n != 1 {
		t.Fatalf("outbox has %d rows for the existing user, want its 1", n)
	}
}

// TestReadsFallBackToPrimaryWhileReplayIsPaused freezes the replica (WAL
// replay paused), registers a user on the primary, and proves the user is
// found anyway, then that the replica catches up once replay resumes.
// It runs alone: the pause freezes the replica for every other test.
func TestReadsFallBackToPrimaryWhileReplayIsPaused(t *testing.T) {
	primary, replica := testDB(t)
	ctx := testenv.Context(t, time.Minute)
	users := postgres.NewUsers(primary, replica, nil)

	// Pausing replay pauses the whole replica, every database on it: keep
	// the pause short and resume it whatever happens to the test.
	t.Cleanup(func() {
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := replica.ExecContext(rctx, "SELECT pg_wal_replay_resume()"); err != nil {
			t.Errorf("resume WAL replay on the replica: %v", err)
		}
	})
	if _, err := replica.ExecContext(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatalf("pause WAL replay: %v", err)
	}
	// "pause requested" is enough: replay checks it before each record,
	// so nothing written from now on is applied.
	var state string
	if err := replica.GetContext(ctx, &state, "SELECT pg_get_wal_replay_pause_state()"); err != nil || state == "not paused" {
		t.Fatalf("replay pause state = %q, %v", state, err)
	}

	u := newUser(t)
	if err := users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	// Wait until the replica has received the write: from then on only the
	// paused replay keeps the user from it.
	var written string
	if err := primary.GetContext(ctx, &written, "SELECT pg_current_wal_lsn()::text"); err != nil {
		t.Fatal(err)
	}
	if !testenv.Eventually(10*time.Second, 5*time.Millisecond, func() bool {
		var received bool
		err := replica.GetContext(ctx, &received,
			"SELECT COALESCE(pg_last_wal_receive_lsn() >= $1::pg_lsn, false)", written)
		return err == nil && received
	}) {
		t.Fatalf("the replica never received WAL up to %s", written)
	}
	if n := count(t, replica, "SELECT count(*) FROM users WHERE email = $1", u.Email); n != 0 {
		t.Fatalf("the paused replica has the new user; the test proves nothing")
	}
	if n := count(t, replica, "SELECT count(*) FROM user_ids WHERE id = $1", u.ID); n != 0 {
		t.Fatalf("the paused replica has the new user's id; the test proves nothing")
	}

	got, err := users.ByEmail(ctx, u.Email)
	if err != nil {
		t.Fatalf("ByEmail while the replica lags: %v", err)
	}
	assertUser(t, got, u)
	got, err = users.ByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("ByID while the replica lags: %v", err)
	}
	assertUser(t, got, u)

	if _, err := replica.ExecContext(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatalf("resume WAL replay: %v", err)
	}
	if !testenv.Eventually(10*time.Second, 20*time.Millisecond, func() bool {
		return count(t, replica, "SELECT count(*) FROM users WHERE email = $1", u.Email) == 1
	}) {
		t.Fatal("the replica never caught up after replay resumed")
	}
}

// unreachable returns a pool whose server does not exist.
func unreachable(t *testing.T) *sqlx.DB {
	db, err := sqlx.Open("postgres", "postgres://postgres:postgres@127.0.0.1:1/sso?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestReadsFallBackToPrimaryWhenReplicaIsDown(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users := postgres.NewUsers(primary, unreachable(t), nil)
	u := newUser(t)
	if err := users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := users.ByEmail(ctx, u.Email)
	if err != nil {
		t.Fatalf("ByEmail with the replica down: %v", err)
	}
	assertUser(t, got, u)
	got, err = users.ByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("ByID with the replica down: %v", err)
	}
	assertUser(t, got, u)
	if _, err := users.ByEmail(ctx, "nobody-"+newID()+"@example.com"); !errors.Is(err, user.ErrNotFound) {
		t.Fatalf("ByEmail of nobody with the replica down = %v, want ErrNotFound from the primary", err)
	}
}

// TestDatabaseDownIsNotNotFound: an unreachable database must never read as
// "no such user" (which a login would turn into wrong credentials).
func TestDatabaseDownIsNotNotFound(t *testing.T) {
	t.Parallel()
	testenv.Require(t) // the point is that nothing answers; -short skips the wait
	ctx := testenv.Context(t, 30*time.Second)
	down := unreachable(t)
	users := postgres.NewUsers(down, down, recordingEvent(nil), withKeys)
	tests := []struct {
		name string
		call func() error
	}{
		{"Create", func() error { return users.Create(ctx, newUser(t)) }},
		{"ByEmail", func() error { _, err := users.ByEmail(ctx, "a@example.com"); return err }},
		{"ByID", func() error { _, err := users.ByID(ctx, newID()); return err }},
		{"SetPasswordHash", func() error { return users.SetPasswordHash(ctx, newID(), "x") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || errors.Is(err, user.ErrNotFound) || errors.Is(err, user.ErrEmailTaken) {
				t.Fatalf("got %v, want a connection error", err)
			}
			var opErr *net.OpError
			if !errors.As(err, &opErr) {
				t.Fatalf("got %v (%T), want the *net.OpError underneath", err, err)
			}
		})
	}
}
