package authtest

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/auth"
)

// RunSessions runs the auth.Sessions contract against the stores
// newSessions returns, one per subtest; subtests run in parallel with their
// own families and token hashes.
func RunSessions(t *testing.T, newSessions func(t *testing.T) auth.Sessions) {
	t.Helper()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s auth.Sessions)
	}{
		{"RotateChain", sessionsRotateChain},
		{"ReuseRevokesFamily", sessionsReuseRevokesFamily},
		{"ConcurrentRotationsOneWins", sessionsConcurrentRotations},
		{"UnknownTokens", sessionsUnknownTokens},
		{"Revoke", sessionsRevoke},
		{"RevokeByToken", sessionsRevokeByToken},
		{"RevokeByRotatedToken", sessionsRevokeByRotatedToken},
		{"AbsoluteLifetime", sessionsAbsoluteLifetime},
		{"TokensEndWithFamily", sessionsTokensEndWithFamily},
		{"Expire", sessionsExpire},
		{"RevokeAccess", sessionsRevokeAccess},
		{"AccessEndsWithFamily", sessionsAccessEndsWithFamily},
		{"RevokeUser", sessionsRevokeUser},
		{"StartAfterRevokeUser", sessionsStartAfterRevokeUser},
		{"List", sessionsList},
		{"RevokeOwned", sessionsRevokeOwned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newSessions(t))
		})
	}
}

// lifetime is what the subtests give families unless they test lifetimes.
var lifetime = auth.Lifetime{Idle: time.Hour, Absolute: 24 * time.Hour}

// started opens a new family and returns its session and first token hash.
func started(t *testing.T, s auth.Sessions) (auth.Session, string) {
	t.Helper()
	sess := auth.Session{Family: uuid.NewString(), UserID: uuid.NewString()}
	hash := uuid.NewString()
	if err := s.Start(testenv.Context(t, 10*time.Second), sess, hash, lifetime, auth.Origin{}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return sess, hash
}

func sessionsRotateChain(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 10*time.Second)
	sess, cur := started(t, s)
	if got, err := s.Find(ctx, cur); err != nil || got != sess {
		t.Fatalf("Find(first) = %+v, %v; want %+v", got, err, sess)
	}
	seen := []string{cur}
	for i := range 3 {
		next := uuid.NewString()
		got, err := s.Rotate(ctx, cur, next, lifetime)
		if err != nil || got != sess {
			t.Fatalf("Rotate #%d = %+v, %v; want %+v", i+1, got, err, sess)
		}
		if got, err := s.Find(ctx, next); err != nil || got != sess {
			t.Fatalf("Find(rotated #%d) = %+v, %v; want %+v", i+1, got, err, sess)
		}
		cur = next
		seen = append(seen, next)
	}
	// Find never revokes: asking about a rotated-away token is harmless.
	for _, old := range seen[:len(seen)-1] {
		if _, err := s.Find(ctx, old); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Find(rotated-away token): err = %v, want auth.ErrInvalidToken", err)
		}
	}
	if got, err := s.Find(ctx, cur); err != nil || got != sess {
		t.Errorf("Find(current) after Finds of old tokens = %+v, %v; want %+v", got, err, sess)
	}
}

func sessionsReuseRevokesFamily(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 10*time.Second)
	fam, first := started(t, s)
	other, otherHash := started(t, s)
	second := uuid.NewString()
	if _, err := s.Rotate(ctx, first, second, lifetime); err != nil {
		t.Fatal(err)
	}
	reused, err := s.Rotate(ctx, first, uuid.NewString(), lifetime)
	if !errors.Is(err, auth.ErrRefreshReused) {
		t.Fatalf("Rotate(rotated-away token): err = %v, want auth.ErrRefreshReused", err)
	}
	// The session it ended, whose user the audit log names.
	if want := fam; reused != want {
		t.Errorf("Rotate(rotated-away token) = %+v, want the ended session %+v", reused, want)
	}
	// The whole family is gone, the current token included; presenting
	// the old one again is no longer news.
	if _, err := s.Find(ctx, second); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Find(current of a revoked family): err = %v, want auth.ErrInvalidToken", err)
	}
	if _, err := s.Rotate(ctx, second, uuid.NewString(), lifetime); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Rotate(current of a revoked family): err = %v, want auth.ErrInvalidToken", err)
	}
	if _, err := s.Rotate(ctx, first, uuid.NewString(), lifetime); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Rotate(old token of a revoked family): err = %v, want auth.ErrInvalidToken", err)
	}
	if got, err := s.Find(ctx, otherHash); err != nil || got != other {
		t.Errorf("Find(another family) = %+v, %v; want %+v untouched", got, err, other)
	}
}

func sessionsConcurrentRotations(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 10*time.Second)
	_, hash := started(t, s)
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  []string
		errs []error
	)
	for range n {
		wg.Go(func() {
			next := uuid.NewString()
			_, err := s.Rotate(ctx, hash, next, lifetime)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				won = append(won, next)
			} else {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d of %d concurrent rotations of one token won, want 1", len(won), n)
	}
	reused := 0
	for _, err := range errs {
		switch {
		case errors.Is(err, auth.ErrRefreshReused):
			reused++
		case !errors.Is(err, auth.ErrInvalidToken):
			t.Errorf("losing rotation: err = %v, want auth.ErrRefreshReused or auth.ErrInvalidToken", err)
		}
	}
	if reused != 1 {
		t.Errorf("%d losers saw reuse, want 1 (the first; the rest find the family revoked)", reused)
	}
	if _, err := s.Find(ctx, won[0]); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Find(winner's token) after the race: err = %v, want auth.ErrInvalidToken", err)
	}
}

func sessionsUnknownTokens(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 10*time.Second)
	started(t, s)
	unknown := uuid.NewString()
	if _, err := s.Find(ctx, unknown); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Find(unknown): err = %v, want auth.ErrInvalidToken", err)
	}
	next := uuid.NewString()
	if _, err := s.Rotate(ctx, unknown, next, lifetime); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Rotate(unknown): err = %v, want auth.ErrInvalidToken", err)
	}
	if _, err := s.Find(ctx, next); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Find(token of a refused rotation): err = %v, want auth.ErrInvalidToken", err)
	}
}

func sessionsRevoke(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 10*time.Second)
	sess, hash := started(t, s)
	other, otherHash := started(t, s)
	for i := range 2 { // logging out twice is harmless
		if err := s.Revoke(ctx, sess.Family); err != nil {
			t.Fatalf("Revoke #%d: %v", i+1, err)
		}
	}
	if err := s.Revoke(ctx, uuid.NewString()); err != nil {
		t.Errorf("Revoke(unknown family): %v", err)
	}
	if _, err := s.Find(ctx, hash); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Find(revoked): err = %v, want auth.ErrInvalidToken", err)
	}
	if _, err := s.Rotate(ctx, hash, uuid.NewString(), lifetime); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Rotate(revoked): err = %v, want auth.ErrInvalidToken", err)
	}
	if got, err := s.Find(ctx, otherHash); err != nil || got != other {
		t.Errorf("Find(another family) = %+v, %v; want %+v untouched", got, err, other)
	}
}

// expiryWait bounds how long a store may keep a record past its TTL.
const expiryWait = 5 * time.Second

func sessionsExpire(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 10*time.Second)
	const short = 100 * time.Millisecond
	sess := auth.Session{Family: uuid.NewString(), UserID: uuid.NewString()}
	hash := uuid.NewString()
	if err := s.Start(ctx, sess, hash, auth.Lifetime{Idle: short, Absolute: time.Hour}, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Find(ctx, hash); err != nil {
		t.Fatalf("Find before expiry: %v", err)
	}
	var err error
	if !testenv.Eventually(expiryWait, 10*time.Millisecond, func() bool {
		_, err = s.Find(ctx, hash)
		return errors.Is(err, auth.ErrInvalidToken)
	}) {
		t.Fatalf("Find %s after a TTL of %s: err = %v, want auth.ErrInvalidToken", expiryWait, short, err)
	}
	if _, err := s.Rotate(ctx, hash, uuid.NewString(), lifetime); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Rotate after expiry: err = %v, want auth.ErrInvalidToken", err)
	}
}

func sessionsRevokeAccess(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 10*time.Second)
	sess, _ := started(t, s)
	long, short, past, never := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	for jti, until := range map[string]time.Time{
		long:  time.Now().Add(time.Hour),
		short: time.Now().Add(100 * time.Millisecond),
		past:  time.Now().Add(-time.Second),
	} {
		if err := s.RevokeAccess(ctx, jti, until); err != nil {
			t.Fatalf("RevokeAccess: %v", err)
		}
	}
	for _, tt := range []struct {
		name, jti string
		want      bool
	}{
		{"revoked", long, true},
		{"revoked until a past time", past, false},
		{"never revoked", never, false},
	} {
		if got, err := s.AccessRevoked(ctx, tt.jti, sess.Family); err != nil || got != tt.want {
			t.Errorf("AccessRevoked(%s) = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	// The mark ends with the token it describes.
	var err error
	if !testenv.Eventually(expiryWait, 10*time.Millisecond, func() bool {
		var revoked bool
		revoked, err = s.AccessRevoked(ctx, short, sess.Family)
		return err == nil && !revoked
	}) {
		t.Errorf("AccessRevoked still true %s after the mark's end (err %v)", expiryWait, err)
	}
}

func sessionsRevokeByToken(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 10*time.Second)
	sess, hash := started(t, s)
	other, otherHash := started(t, s)
	if got, err := s.RevokeByToken(ctx, hash); err != nil || got != sess {
		t.Fatalf("RevokeByToken(current) = %+v, %v; want %+v", got, err, sess)
	}
	if _, err := s.Find(ctx, hash); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Find(token of an ended family): err = %v, want auth.ErrInvalidToken", err)
	}
	if _, err := s.Rotate(ctx, hash, uuid.NewString(), lifetime); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Rotate(token of an ended family): err = %v, want auth.ErrInvalidToken", err)
	}
	// Ending it again changes nothing and says so; so does a token that
	// was never issued.
	if _, err := s.RevokeByToken(ctx, hash); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("RevokeByToken(again): err = %v, want auth.ErrInvalidToken", err)
	}
	unknown := uuid.NewString()
	if _, err := s.RevokeByToken(ctx, unknown); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("RevokeByToken(unknown): err = %v, want auth.ErrInvalidToken", err)
	}
	if _, err := s.Rotate(ctx, unknown, uuid.NewString(), lifetime); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Rotate(unknown, after RevokeByToken of it): err = %v, want auth.ErrInvalidToken", err)
	}
	if got, err := s.Find(ctx, otherHash); err != nil || got != other {
		t.Errorf("Find(another family) = %+v, %v; want %+v untouched", got, err, other)
	}
}

// A token rotated away still proves its holder had the session: ending
// the family with it ends the current token too.
func sessionsRevokeByRotatedToken(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 10*time.Second)
	sess, first := started(t, s)
	second := uuid.NewString()
	if _, err := s.Rotate(ctx, first, second, lifetime); err != nil {
		t.Fatal(err)
	}
	if got, err := s.RevokeByToken(ctx, first); err != nil || got != sess {
		t.Fatalf("RevokeByToken(rotated-away token) = %+v, %v; want %+v", got, err, sess)
	}
	if _, err := s.Find(ctx, second); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Find(current token of the ended family): err = %v, want auth.ErrInvalidToken", err)
	}
	if _, err := s.Rotate(ctx, second, uuid.NewString(), lifetime); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Rotate(current token of the ended family): err = %v, want auth.ErrInvalidToken", err)
	}
}

// Rotating as often as one likes keeps a family only until its absolute
// lifetime ends, counted from Start.
func sessionsAbsoluteLifetime(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 20*time.Second)
	l := auth.Lifetime{Idle: time.Hour, Absolute: 1500 * time.Millisecond}
	sess := auth.Session{Family: uuid.NewString(), UserID: uuid.NewString()}
	cur := uuid.NewString()
	begin := time.Now()
	if err := s.Start(ctx, sess, cur, l, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	var lastOK time.Duration
	for {
		next := uuid.NewString()
		_, err := s.Rotate(ctx, cur, next, l)
		at := time.Since(begin)
		if errors.Is(err, auth.ErrInvalidToken) {
			if at > l.Absolute+time.Second {
				t.Errorf("first refused rotation %s after Start, want it about %s after", at, l.Absolute)
			}
			break
		}
		if err != nil {
			t.Fatalf("Rotate %s after Start: %v", at, err)
		}
		if at > l.Absolute+time.Second {
			t.Fatalf("Rotate still succeeds %s after Start; the family's absolute lifetime is %s", at, l.Absolute)
		}
		lastOK, cur = at, next
		time.Sleep(50 * time.Millisecond)
	}
	// The family lived until near its end: rotations were not refused for
	// some other reason.
	if lastOK < l.Absolute/2 {
		t.Errorf("last successful rotation %s after Start, want one after %s", lastOK, l.Absolute/2)
	}
	if _, err := s.Find(ctx, cur); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Find(last token) after the family ended: err = %v, want auth.ErrInvalidToken", err)
	}
}

// No token outlives its family: with an idle TTL longer than what is left
// of the family, the token expires with the family, unused.
func sessionsTokensEndWithFamily(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 20*time.Second)
	l := auth.Lifetime{Idle: time.Hour, Absolute: 500 * time.Millisecond}
	sess := auth.Session{Family: uuid.NewString(), UserID: uuid.NewString()}
	first, second := uuid.NewString(), uuid.NewString()
	if err := s.Start(ctx, sess, first, l, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, first, second, l); err != nil {
		t.Fatal(err)
	}
	var err error
	if !testenv.Eventually(l.Absolute+expiryWait, 10*time.Millisecond, func() bool {
		_, err = s.Find(ctx, second)
		return errors.Is(err, auth.ErrInvalidToken)
	}) {
		t.Fatalf("Find(unused token) %s after a family lifetime of %s: err = %v, want auth.ErrInvalidToken",
			l.Absolute+expiryWait, l.Absolute, err)
	}
}

// An access token is good only while its family lives: ending the family
// in any way refuses the access tokens issued from it.
func sessionsAccessEndsWithFamily(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 20*time.Second)
	jti := uuid.NewString()
	check := func(what, fam string, want bool) {
		t.Helper()
		if got, err := s.AccessRevoked(ctx, jti, fam); err != nil || got != want {
			t.Errorf("AccessRevoked(%s) = %v, %v; want %v", what, got, err, want)
		}
	}
	live, _ := started(t, s)
	check("live family", live.Family, false)
	check("unknown family", uuid.NewString(), true)
	check("no family", "", true)

	revoked, _ := started(t, s)
	if err := s.Revoke(ctx, revoked.Family); err != nil {
		t.Fatal(err)
	}
	check("revoked family", revoked.Family, true)

	byToken, hash := started(t, s)
	if _, err := s.RevokeByToken(ctx, hash); err != nil {
		t.Fatal(err)
	}
	check("family ended by logout", byToken.Family, true)

	reused, first := started(t, s)
	if _, err := s.Rotate(ctx, first, uuid.NewString(), lifetime); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, first, uuid.NewString(), lifetime); !errors.Is(err, auth.ErrRefreshReused) {
		t.Fatalf("replay: err = %v, want auth.ErrRefreshReused", err)
	}
	check("family ended by reuse", reused.Family, true)

	expiring := auth.Session{Family: uuid.NewString(), UserID: uuid.NewString()}
	if err := s.Start(ctx, expiring, uuid.NewString(), auth.Lifetime{Idle: 100 * time.Millisecond, Absolute: time.Hour}, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	var (
		got bool
		err error
	)
	if !testenv.Eventually(expiryWait, 10*time.Millisecond, func() bool {
		got, err = s.AccessRevoked(ctx, jti, expiring.Family)
		return err == nil && got
	}) {
		t.Errorf("AccessRevoked(expired family) = %v, %v %s after its TTL; want true", got, err, expiryWait)
	}
	check("live family, after the others ended", live.Family, false)
}

func sessionsRevokeUser(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 10*time.Second)
	userID := uuid.NewString()
	start := func(uid string) (auth.Session, string) {
		t.Helper()
		sess := auth.Session{Family: uuid.NewString(), UserID: uid}
		hash := uuid.NewString()
		if err := s.Start(ctx, sess, hash, lifetime, auth.Origin{}); err != nil {
			t.Fatal(err)
		}
		return sess, hash
	}
	a, aHash := start(userID)
	b, bFirst := start(userID)
	bHash := uuid.NewString()
	if _, err := s.Rotate(ctx, bFirst, bHash, lifetime); err != nil {
		t.Fatal(err)
	}
	gone, goneHash := start(userID)
	if err := s.Revoke(ctx, gone.Family); err != nil {
		t.Fatal(err)
	}
	other, otherHash := start(uuid.NewString())

	if n, err := s.RevokeUser(ctx, userID); err != nil || n != 2 {
		t.Fatalf("RevokeUser = %d, %v; want 2 (the live families)", n, err)
	}
	for _, tc := range []struct {
		name string
		sess auth.Session
		hash string
	}{{"first", a, aHash}, {"rotated", b, bHash}, {"ended before", gone, goneHash}} {
		if _, err := s.Find(ctx, tc.hash); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Find(%s family's token): err = %v, want auth.ErrInvalidToken", tc.name, err)
		}
		if _, err := s.Rotate(ctx, tc.hash, uuid.NewString(), lifetime); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Rotate(%s family's token): err = %v, want auth.ErrInvalidToken", tc.name, err)
		}
		if got, err := s.AccessRevoked(ctx, uuid.NewString(), tc.sess.Family); err != nil || !got {
			t.Errorf("AccessRevoked(%s family) = %v, %v; want true", tc.name, got, err)
		}
	}
	if _, err := s.Rotate(ctx, bFirst, uuid.NewString(), lifetime); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Rotate(rotated-away token of an ended family): err = %v, want auth.ErrInvalidToken", err)
	}
	if got, err := s.Find(ctx, otherHash); err != nil || got != other {
		t.Errorf("Find(another user's family) = %+v, %v; want %+v untouched", got, err, other)
	}
	if got, err := s.AccessRevoked(ctx, uuid.NewString(), other.Family); err != nil || got {
		t.Errorf("AccessRevoked(another user's family) = %v, %v; want false", got, err)
	}
	if n, err := s.RevokeUser(ctx, userID); err != nil || n != 0 {
		t.Errorf("RevokeUser again = %d, %v; want 0", n, err)
	}
	if n, err := s.RevokeUser(ctx, uuid.NewString()); err != nil || n != 0 {
		t.Errorf("RevokeUser(user without sessions) = %d, %v; want 0", n, err)
	}
	// The user logs in again afterwards: the new family is live.
	again, againHash := start(userID)
	if got, err := s.Find(ctx, againHash); err != nil || got != again {
		t.Errorf("Find(family started after RevokeUser) = %+v, %v; want %+v", got, err, again)
	}
}

// A login that checked its credentials before RevokeUser must not leave a
// session behind it; one that checked them after, or the revoking use case
// itself (no check time), starts normally.
func sessionsStartAfterRevokeUser(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 10*time.Second)
	userID := uuid.NewString()
	before := time.Now()
	if _, err := s.RevokeUser(ctx, userID); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()

	late := auth.Session{Family: uuid.NewString(), UserID: userID}
	lateHash := uuid.NewString()
	if err := s.Start(ctx, late, lateHash, lifetime, auth.Origin{CheckedAt: before}); !errors.Is(err, auth.ErrSessionsEnded) {
		t.Fatalf("Start with credentials checked before RevokeUser: err = %v, want auth.ErrSessionsEnded", err)
	}
	if _, err := s.Find(ctx, lateHash); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Find(token of a refused Start): err = %v, want auth.ErrInvalidToken", err)
	}
	if got, err := s.AccessRevoked(ctx, uuid.NewString(), late.Family); err != nil || !got {
		t.Errorf("AccessRevoked(family of a refused Start) = %v, %v; want true", got, err)
	}

	own := auth.Session{Family: uuid.NewString(), UserID: userID}
	ownHash := uuid.NewString()
	if err := s.Start(ctx, own, ownHash, lifetime, auth.Origin{}); err != nil {
		t.Fatalf("Start without a check time right after RevokeUser: %v", err)
	}
	if got, err := s.Find(ctx, ownHash); err != nil || got != own {
		t.Errorf("Find(session of the revoking use case) = %+v, %v; want %+v", got, err, own)
	}

	// Stores compare to the millisecond: step past the revocation's.
	for time.Since(revoked) < 2*time.Millisecond {
		runtime.Gosched()
	}
	fresh := auth.Session{Family: uuid.NewString(), UserID: userID}
	if err := s.Start(ctx, fresh, uuid.NewString(), lifetime, auth.Origin{CheckedAt: time.Now()}); err != nil {
		t.Fatalf("Start with credentials checked after RevokeUser: %v", err)
	}
	other := auth.Session{Family: uuid.NewString(), UserID: uuid.NewString()}
	if err := s.Start(ctx, other, uuid.NewString(), lifetime, auth.Origin{CheckedAt: before}); err != nil {
		t.Errorf("Start for another user, checked before the RevokeUser: %v", err)
	}
}

// clockSlack is how far a store's clock (Redis') may be from the test's.
const clockSlack = 2 * time.Second

func sessionsList(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 10*time.Second)
	userID := uuid.NewString()
	begin := time.Now()
	origins := map[string]auth.Origin{
		uuid.NewString(): {ClientAddress: "203.0.113.7", UserAgent: "curl/8.5.0"},
		uuid.NewString(): {ClientAddress: "2001:db8::1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"},
		uuid.NewString(): {},
	}
	hashes := map[string]string{}
	for fam, o := range origins {
		hash := uuid.NewString()
		if err := s.Start(ctx, auth.Session{Family: fam, UserID: userID}, hash, lifetime, o); err != nil {
			t.Fatal(err)
		}
		hashes[fam] = hash
	}
	other, _ := started(t, s)
	var rotated string
	for fam := range origins {
		rotated = fam
		break
	}
	// Stores keep times to the millisecond: step past the starts' so the
	// rotation's use is later than the creation.
	startsDone := time.Now()
	for time.Since(startsDone) < 3*time.Millisecond {
		runtime.Gosched()
	}
	if _, err := s.Rotate(ctx, hashes[rotated], uuid.NewString(), lifetime); err != nil {
		t.Fatal(err)
	}
	ended := ""
	for fam := range origins {
		if fam != rotated {
			ended = fam
			break
		}
	}
	if err := s.Revoke(ctx, ended); err != nil {
		t.Fatal(err)
	}
	end := time.Now()

	got, err := s.List(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("List = %+v, want the 2 live families of the user", got)
	}
	for i, info := range got {
		o, ok := origins[info.Family]
		switch {
		case !ok || info.Family == ended:
			t.Errorf("List[%d] = %+v: not a live family of the user", i, info)
			continue
		case info.ClientAddress != o.ClientAddress || info.UserAgent != o.UserAgent:
			t.Errorf("List[%d] origin = %q, %q; want %q, %q", i, info.ClientAddress, info.UserAgent, o.ClientAddress, o.UserAgent)
		case info.Created.Before(begin.Add(-clockSlack)) || info.Created.After(end.Add(clockSlack)):
			t.Errorf("List[%d] created %s, want between %s and %s", i, info.Created, begin, end)
		case info.Family == rotated && !info.LastUsed.After(info.Created):
			t.Errorf("List[%d] (rotated) last used %s, want after its creation %s", i, info.LastUsed, info.Created)
		case info.Family != rotated && !info.LastUsed.Equal(info.Created):
			t.Errorf("List[%d] (never rotated) last used %s, want its creation %s", i, info.LastUsed, info.Created)
		}
		if i > 0 && got[i-1].Created.Before(info.Created) {
			t.Errorf("List not newest first: %s before %s", got[i-1].Created, info.Created)
		}
	}
	if got, err := s.List(ctx, other.UserID); err != nil || len(got) != 1 || got[0].Family != other.Family {
		t.Errorf("List(another user) = %+v, %v; want only its family %s", got, err, other.Family)
	}
	if got, err := s.List(ctx, uuid.NewString()); err != nil || len(got) != 0 {
		t.Errorf("List(user without sessions) = %+v, %v; want none", got, err)
	}
}

func sessionsRevokeOwned(t *testing.T, s auth.Sessions) {
	ctx := testenv.Context(t, 10*time.Second)
	mine, hash := started(t, s)
	theirs, theirHash := started(t, s)
	if ok, err := s.RevokeOwned(ctx, mine.UserID, theirs.Family); err != nil || ok {
		t.Errorf("RevokeOwned(another user's family) = %v, %v; want false", ok, err)
	}
	if got, err := s.Find(ctx, theirHash); err != nil || got != theirs {
		t.Errorf("Find(another user's family) after RevokeOwned = %+v, %v; want it untouched", got, err)
	}
	if ok, err := s.RevokeOwned(ctx, mine.UserID, uuid.NewString()); err != nil || ok {
		t.Errorf("RevokeOwned(unknown family) = %v, %v; want false", ok, err)
	}
	if ok, err := s.RevokeOwned(ctx, mine.UserID, mine.Family); err != nil || !ok {
		t.Fatalf("RevokeOwned(own family) = %v, %v; want true", ok, err)
	}
	if _, err := s.Find(ctx, hash); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Find(token of the ended family): err = %v, want auth.ErrInvalidToken", err)
	}
	if got, err := s.AccessRevoked(ctx, uuid.NewString(), mine.Family); err != nil || !got {
		t.Errorf("AccessRevoked(ended family) = %v, %v; want true", got, err)
	}
	if got, err := s.List(ctx, mine.UserID); err != nil || len(got) != 0 {
		t.Errorf("List after RevokeOwned = %+v, %v; want none", got, err)
	}
	if ok, err := s.RevokeOwned(ctx, mine.UserID, mine.Family); err != nil || ok {
		t.Errorf("RevokeOwned again = %v, %v; want false", ok, err)
	}
}
