package postgres_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/postgres"
	"github.com/ssokit/platform/services/sso/internal/token"
	"github.com/ssokit/platform/services/sso/internal/user"
)

const accountTopic = "test-account-events"

func testRing(t *testing.T) *sealbox.Ring {
	t.Helper()
	line, err := sealbox.NewKeyLine("test")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := sealbox.Parse([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// accounts returns a Users writing real account events sealed with ring,
// and the records it committed, in order.
func accounts(t *testing.T, primary *sqlx.DB, ring *sealbox.Ring, opts ...postgres.Option) (*postgres.Users, func() []outbox.Record) {
	var (
		mu   sync.Mutex
		recs []outbox.Record
	)
	opts = append([]postgres.Option{
		postgres.OnCommitted(func(r outbox.Record) { mu.Lock(); recs = append(recs, r); mu.Unlock() }),
		postgres.WithAccountEvents(outbox.AccountEvents(accountTopic, ring)), postgres.WithDataKeys(ring),
	}, opts...)
	u := postgres.NewUsers(primary, nil, outbox.UserRegistered("test-user-registered"), opts...)
	return u, func() []outbox.Record { mu.Lock(); defer mu.Unlock(); return append([]outbox.Record(nil), recs...) }
}

func newToken(t *testing.T, purpose user.Purpose, ttl time.Duration) user.OneTimeToken {
	t.Helper()
	raw, hash, err := token.NewRefresh()
	if err != nil {
		t.Fatal(err)
	}
	return user.OneTimeToken{Raw: raw, Hash: hash, Purpose: purpose, ExpiresAt: time.Now().Add(ttl)}
}

// storedEvent reads the account event of an outbox row as the relay would.
func storedEvent(t *testing.T, db *sqlx.DB, id string) (string, *eventsv1.AccountEvent, []byte) {
	t.Helper()
	var row struct {
		Type    string `db:"event_type"`
		Topic   string `db:"topic"`
		Key     string `db:"msg_key"`
		Payload []byte `db:"payload"`
	}
	if err := db.GetContext(t.Context(), &row, "SELECT event_type, topic, msg_key, payload FROM outbox WHERE id = $1", id); err != nil {
		t.Fatalf("outbox row %s: %v", id, err)
	}
	if row.Topic != accountTopic {
		t.Errorf("topic = %q, want %q", row.Topic, accountTopic)
	}
	ev := new(eventsv1.AccountEvent)
	if err := proto.Unmarshal(row.Payload, ev); err != nil {
		t.Fatal(err)
	}
	if row.Key != ev.GetUserId() || ev.GetEventId() != id {
		t.Errorf("key %q, event %+v: want the user id as key and the row id as event id", row.Key, ev)
	}
	return row.Type, ev, row.Payload
}

// openPersonal opens the personal data of a user's event as a consumer
// would: the user's data key from the store (UserDataKeyService's source),
// unwrapped with the ring, then the sealed data. It fails the test when
// the clear e-mail field of the event is set.
func openPersonal(t *testing.T, users *postgres.Users, ring *sealbox.Ring, userID, eventID, clearEmail string, s *eventsv1.SealedPersonal) *eventsv1.PersonalData {
	t.Helper()
	if clearEmail != "" {
		t.Errorf("event %s carries the e-mail in clear", eventID)
	}
	wrapped, err := users.DataKey(t.Context(), userID, sealbox.DataKeyVersion)
	if err != nil {
		t.Fatalf("DataKey(%s): %v", userID, err)
	}
	key, err := ring.UnwrapDataKey(userID, sealbox.DataKeyVersion, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sealbox.OpenPersonal(key, userID, eventID, s)
	if err != nil {
		t.Fatalf("open the personal data of %s: %v", eventID, err)
	}
	return p
}

func TestCreateWithTokenStoresTheSealedVerificationRequest(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	ring := testRing(t)
	users, committed := accounts(t, primary, ring)

	u := newUser(t)
	tok := newToken(t, user.PurposeEmailVerification, 24*time.Hour)
	if err := users.CreateWithToken(ctx, u, tok); err != nil {
		t.Fatal(err)
	}
	got, err := users.ByID(ctx, u.ID)
	if err != nil || got.EmailVerified {
		t.Fatalf("ByID = %+v, %v; want an unverified user", got, err)
	}
	recs := committed()
	if len(recs) != 2 || recs[0].EventType != "" && recs[0].EventType != outbox.EventUserRegistered || recs[1].EventType != string(user.EventEmailVerificationRequested) {
		t.Fatalf("committed = %+v, want UserRegistered then EmailVerificationRequested", recs)
	}
	kind, ev, payload := storedEvent(t, primary, recs[1].ID)
	if kind != string(user.EventEmailVerificationRequested) {
		t.Fatalf("event_type = %q", kind)
	}
	req := ev.GetEmailVerificationRequested()
	if req == nil || openPersonal(t, users, ring, u.ID, ev.GetEventId(), req.GetEmail(), req.GetPersonal()).GetEmail() != u.Email || !req.GetExpiresAt().AsTime().Equal(tok.ExpiresAt.Truncate(time.Nanosecond)) && req.GetExpiresAt().AsTime().Sub(tok.ExpiresAt).Abs() > time.Millisecond {
		t.Fatalf("event = %+v", ev)
	}
	if bytes.Contains(payload, []byte(tok.Raw)) {
		t.Fatal("the raw token is in the stored payload")
	}
	opened, err := ring.Open(req.GetToken(), sealbox.AAD(string(user.PurposeEmailVerification), u.ID, ev.GetEventId()))
	if err != nil || string(opened) != tok.Raw {
		t.Fatalf("opened %q, %v; want the raw token", opened, err)
	}
	// Bound to its event: it does not open as another user's.
	if _, err := ring.Open(req.GetToken(), sealbox.AAD(string(user.PurposeEmailVerification), newID(), ev.GetEventId())); !errors.Is(err, sealbox.ErrUnsealable) {
		t.Fatalf("opened under another user: %v", err)
	}
	// Only the hash is stored.
	if n := count(t, primary, "SELECT count(*) FROM one_time_tokens WHERE hash = decode($1, 'hex') AND user_id = $2", tok.Hash, u.ID); n != 1 {
		t.Fatalf("%d token rows by hash, want 1", n)
	}
	if n := count(t, primary, "SELECT count(*) FROM one_time_tokens WHERE position(convert_to($1, 'UTF8') in hash) > 0", tok.Raw); n != 0 {
		t.Fatal("the raw token is stored")
	}

	// A taken e-mail stores nothing more.
	dup := newUser(t)
	dup.Email = u.Email
	if err := users.CreateWithToken(ctx, dup, newToken(t, user.PurposeEmailVerification, time.Hour)); !errors.Is(err, user.ErrEmailTaken) {
		t.Fatalf("duplicate = %v, want ErrEmailTaken", err)
	}
	if n := count(t, primary, "SELECT count(*) FROM one_time_tokens WHERE user_id = $1", dup.ID); n != 0 {
		t.Fatal("a token was stored for a refused registration")
	}
}

func TestVerifyEmailUsesTheTokenOnce(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	ring := testRing(t)
	users, committed := accounts(t, primary, ring)

	u := newUser(t)
	first := newToken(t, user.PurposeEmailVerification, time.Hour)
	if err := users.CreateWithToken(ctx, u, first); err != nil {
		t.Fatal(err)
	}
	second := newToken(t, user.PurposeEmailVerification, time.Hour)
	if err := users.IssueToken(ctx, u, second); err != nil {
		t.Fatal(err)
	}
	if _, err := users.VerifyEmail(ctx, first.Hash); !errors.Is(err, user.ErrTokenInvalid) {
		t.Fatalf("superseded token: %v, want ErrTokenInvalid", err)
	}
	// A reset token does not verify.
	reset := newToken(t, user.PurposePasswordReset, time.Hour)
	if err := users.IssueToken(ctx, u, reset); err != nil {
		t.Fatal(err)
	}
	if _, err := users.VerifyEmail(ctx, reset.Hash); !errors.Is(err, user.ErrTokenInvalid) {
		t.Fatalf("reset token used to verify: %v, want ErrTokenInvalid", err)
	}
	id, err := users.VerifyEmail(ctx, second.Hash)
	if err != nil || id != u.ID {
		t.Fatalf("verify = %q, %v", id, err)
	}
	if got, _ := users.ByID(ctx, u.ID); !got.EmailVerified {
		t.Fatal("not verified after VerifyEmail")
	}
	if _, err := users.VerifyEmail(ctx, second.Hash); !errors.Is(err, user.ErrTokenInvalid) {
		t.Fatalf("reused token: %v, want ErrTokenInvalid", err)
	}
	recs := committed()
	last := recs[len(recs)-1]
	if kind, ev, _ := storedEvent(t, primary, last.ID); kind != string(user.EventEmailVerified) ||
		openPersonal(t, users, ring, u.ID, ev.GetEventId(), ev.GetEmailVerified().GetEmail(), ev.GetEmailVerified().GetPersonal()).GetEmail() != u.Email {
		t.Fatalf("last event %s %+v, want EmailVerified", kind, ev)
	}
	// A new token for a verified address works and announces nothing.
	third := newToken(t, user.PurposeEmailVerification, time.Hour)
	if err := users.IssueToken(ctx, u, third); err != nil {
		t.Fatal(err)
	}
	before := len(committed())
	if _, err := users.VerifyEmail(ctx, third.Hash); err != nil {
		t.Fatalf("verify again: %v", err)
	}
	if n := len(committed()); n != before {
		t.Fatalf("verifying a verified address committed %d events", n-before)
	}
	// Expired tokens never work.
	expired := newToken(t, user.PurposeEmailVerification, -time.Second)
	if err := users.IssueToken(ctx, u, expired); err != nil {
		t.Fatal(err)
	}
	if _, err := users.VerifyEmail(ctx, expired.Hash); !errors.Is(err, user.ErrTokenInvalid) {
		t.Fatalf("expired token: %v, want ErrTokenInvalid", err)
	}
	if _, err := users.TokenUser(ctx, expired.Hash, user.PurposeEmailVerification); !errors.Is(err, user.ErrTokenInvalid) {
		t.Fatalf("TokenUser of an expired token: %v", err)
	}
	if n, err := users.DeleteExpiredTokens(ctx, 1000); err != nil || n < 1 {
		t.Fatalf("DeleteExpiredTokens = %d, %v; want at least this test's expired token", n, err)
	}
	if n := count(t, primary, "SELECT count(*) FROM one_time_tokens WHERE hash = decode($1, 'hex')", expired.Hash); n != 0 {
		t.Fatal("expired token not deleted")
	}
}

func TestResetPasswordTokenWorksOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	ring := testRing(t)
	users, _ := accounts(t, primary, ring)

	u := newUser(t)
	if err := users.CreateWithToken(ctx, u, newToken(t, user.PurposeEmailVerification, time.Hour)); err != nil {
		t.Fatal(err)
	}
	reset := newToken(t, user.PurposePasswordReset, 30*time.Minute)
	if err := users.IssueToken(ctx, u, reset); err != nil {
		t.Fatal(err)
	}
	if id, err := users.TokenUser(ctx, reset.Hash, user.PurposePasswordReset); err != nil || id != u.ID {
		t.Fatalf("TokenUser = %q, %v", id, err)
	}
	const n = 10
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = users.ResetPassword(ctx, reset.Hash, "new-hash-"+string(rune('a'+i))) })
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if won >= 0 {
				t.Fatalf("resets %d and %d both succeeded", won, i)
			}
			won = i
		case !errors.Is(err, user.ErrTokenInvalid):
			t.Fatalf("reset %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no reset succeeded")
	}
	got, _ := users.ByID(ctx, u.ID)
	if got.PasswordHash != "new-hash-"+string(rune('a'+won)) {
		t.Fatalf("hash = %q, want the winner's", got.PasswordHash)
	}
	if c := count(t, primary, "SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND event_type = 'PasswordChanged'", u.ID); c != 1 {
		t.Fatalf("%d PasswordChanged rows, want 1", c)
	}

	// A change must start from the current hash: a stale one changes nothing.
	if err := users.ChangePassword(ctx, u.ID, u.PasswordHash, "x"); !errors.Is(err, user.ErrNotFound) {
		t.Fatalf("change from a stale hash: %v, want ErrNotFound", err)
	}
	if err := users.ChangePassword(ctx, u.ID, got.PasswordHash, "changed"); err != nil {
		t.Fatal(err)
	}
	var method eventsv1.PasswordChangeMethod
	var ids []string
	if err := primary.SelectContext(ctx, &ids, "SELECT id FROM outbox WHERE aggregate_id = $1 AND event_type = 'PasswordChanged' ORDER BY created_at", u.ID); err != nil || len(ids) != 2 {
		t.Fatalf("PasswordChanged rows %v, %v; want 2", ids, err)
	}
	_, ev, _ := storedEvent(t, primary, ids[1])
	method = ev.GetPasswordChanged().GetMethod()
	if method != eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_CHANGE {
		t.Fatalf("method = %v", method)
	}
	_, ev, _ = storedEvent(t, primary, ids[0])
	if ev.GetPasswordChanged().GetMethod() != eventsv1.PasswordChangeMethod_PASSWORD_CHANGE_METHOD_RESET ||
		openPersonal(t, users, ring, u.ID, ev.GetEventId(), ev.GetPasswordChanged().GetEmail(), ev.GetPasswordChanged().GetPersonal()).GetEmail() != u.Email {
		t.Fatalf("reset event = %+v", ev)
	}
}

// TestCurrentByEmailReadsTheReplicaWhenThePrimaryIsDown: logins read the
// primary, and during a failover (no primary answers) the replica, so they
// keep working; a primary that answers "no such user" is believed.
func TestCurrentByEmailReadsTheReplicaWhenThePrimaryIsDown(t *testing.T) {
	t.Parallel()
	primary, replica := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	users, _ := accounts(t, primary, testRing(t))
	u := newUser(t)
	if err := users.CreateWithToken(ctx, u, newToken(t, user.PurposeEmailVerification, time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A primary nobody listens on: port 1 refuses at once.
	down, err := sqlx.Open("postgres", "host=127.0.0.1 port=1 user=postgres dbname=postgres sslmode=disable connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { down.Close() })
	if !testenv.Eventually(10*time.Second, 50*time.Millisecond, func() bool {
		got, err := postgres.NewUsers(down, replica, nil).CurrentByEmail(ctx, u.Email)
		return err == nil && got.ID == u.ID
	}) {
		_, err := postgres.NewUsers(down, replica, nil).CurrentByEmail(ctx, u.Email)
		t.Fatalf("with the primary down, CurrentByEmail = %v; want the user from the replica", err)
	}
	if _, err := postgres.NewUsers(down, nil, nil).CurrentByEmail(ctx, u.Email); err == nil || errors.Is(err, user.ErrNotFound) {
		t.Fatalf("with the primary down and no replica, CurrentByEmail = %v; want the outage", err)
	}
	if _, err := postgres.NewUsers(primary, replica, nil).CurrentByEmail(ctx, "nobody-"+u.Email); !errors.Is(err, user.ErrNotFound) {
		t.Fatalf("an unknown address = %v; want ErrNotFound from the primary", err)
	}
}
