package postgres_test

import (
	"testing"
	"time"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/outbox"
	"github.com/ssokit/platform/services/sso/internal/postgres"
	"github.com/ssokit/platform/services/sso/internal/token"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// BenchmarkCreate measures a registration's write: user, id mapping and
// outbox row in one statement on the primary.
func BenchmarkCreate(b *testing.B) {
	primary, replica := testDB(b)
	users := postgres.NewUsers(primary, replica, recordingEvent(nil), withKeys)
	ctx := b.Context()
	for b.Loop() {
		if err := users.Create(ctx, newUser(b)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkByEmail measures a login's read, served by the replica.
func BenchmarkByEmail(b *testing.B) {
	users, u := benchUser(b)
	ctx := b.Context()
	for b.Loop() {
		if _, err := users.ByEmail(ctx, u.Email); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkByID measures an authenticated request's read (user_ids, then
// one partition), served by the replica.
func BenchmarkByID(b *testing.B) {
	users, u := benchUser(b)
	ctx := b.Context()
	for b.Loop() {
		if _, err := users.ByID(ctx, u.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// benchUser creates a user and waits until the replica has it, so the
// benchmark measures replica reads, not the fallback.
func benchUser(b *testing.B) (*postgres.Users, userRef) {
	primary, replica := testDB(b)
	users := postgres.NewUsers(primary, replica, recordingEvent(nil), withKeys)
	u := newUser(b)
	if err := users.Create(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	if !testenv.Eventually(10*time.Second, 10*time.Millisecond, func() bool {
		var n int
		return replica.Get(&n, "SELECT count(*) FROM users WHERE email = $1", u.Email) == nil && n == 1
	}) {
		b.Fatal("the replica never received the user")
	}
	return users, userRef{ID: u.ID, Email: u.Email}
}

type userRef struct{ ID, Email string }

// BenchmarkCreateWithToken measures a registration's real write: user, id
// mapping, data key, UserRegistered, verification token and its event in
// one prepared statement, with the events built (and their personal data
// sealed) as in production.
func BenchmarkCreateWithToken(b *testing.B) {
	primary, _ := testDB(b)
	users := postgres.NewUsers(primary, nil, outbox.UserRegistered("bench-user-registered"),
		postgres.WithAccountEvents(outbox.AccountEvents(accountTopic, keyRing)), withKeys)
	ctx := b.Context()
	for b.Loop() {
		raw, hash, err := token.NewRefresh()
		if err != nil {
			b.Fatal(err)
		}
		u := newUser(b)
		u.Email = u.ID + "@bench.test" // 128 random bits: no collision across runs
		if err := users.CreateWithToken(ctx, u, user.OneTimeToken{Raw: raw, Hash: hash, Purpose: user.PurposeEmailVerification, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDataKey measures UserDataKeyService's read: one primary-key
// lookup on the primary, prepared.
func BenchmarkDataKey(b *testing.B) {
	primary, _ := testDB(b)
	users := postgres.NewUsers(primary, nil, outbox.UserRegistered("bench-user-registered"),
		postgres.WithAccountEvents(outbox.AccountEvents(accountTopic, keyRing)), withKeys)
	ctx := b.Context()
	raw, hash, err := token.NewRefresh()
	if err != nil {
		b.Fatal(err)
	}
	u := newUser(b)
	if err := users.CreateWithToken(ctx, u, user.OneTimeToken{Raw: raw, Hash: hash, Purpose: user.PurposeEmailVerification, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := users.DataKey(ctx, u.ID, 1); err != nil {
			b.Fatal(err)
		}
	}
}
