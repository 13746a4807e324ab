package authtest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/auth"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// RunUsers runs the auth.Users contract against the stores newUsers
// returns, one per subtest. Subtests run in parallel and use fresh ids and
// e-mails, so one shared database may back every store. A store writes
// each user's UserRegistered event with it, as sso wires it: a new user
// reads back with its event in progress.
func RunUsers(t *testing.T, newUsers func(t *testing.T) auth.Users) {
	t.Helper()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, users auth.Users)
	}{
		{"CreatedIsFoundByEmailAndID", usersCreatedIsFound},
		{"EmailTaken", usersEmailTaken},
		{"ConcurrentCreatesOfOneEmail", usersConcurrentCreates},
		{"NotFound", usersNotFound},
		{"SetPasswordHash", usersSetPasswordHash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newUsers(t))
		})
	}
}

// newUser returns a user no store has seen: a UUID id, as sso issues, and
// an e-mail unique to it.
func newUser() user.User {
	id := uuid.NewString()
	return user.User{
		ID:           id,
		Email:        id + "@example.com",
		FullName:     "Ada Lovelace",
		PasswordHash: "$argon2id$v=19$m=9216,t=4,p=1$c2FsdA$aGFzaA",
		// Stores keep microseconds, in whatever location.
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
	}
}

func sameUser(t *testing.T, what string, got, want user.User) {
	t.Helper()
	if got.ID != want.ID || got.Email != want.Email || got.FullName != want.FullName ||
		got.PasswordHash != want.PasswordHash || got.IsAdmin != want.IsAdmin || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func usersCreatedIsFound(t *testing.T, users auth.Users) {
	ctx := testenv.Context(t, 10*time.Second)
	u, admin := newUser(), newUser()
	admin.IsAdmin = true
	for _, x := range []user.User{u, admin} {
		if err := users.Create(ctx, x); err != nil {
			t.Fatalf("Create(%s): %v", x.Email, err)
		}
		// At once: a replica that has not replayed the write is no excuse.
		got, err := users.ByEmail(ctx, x.Email)
		if err != nil {
			t.Fatalf("ByEmail(%s): %v", x.Email, err)
		}
		sameUser(t, "ByEmail", got, x)
		if got.EventStatus != user.EventInProgress {
			t.Errorf("ByEmail: event status %q, want %q", got.EventStatus, user.EventInProgress)
		}
		got, err = users.ByID(ctx, x.ID)
		if err != nil {
			t.Fatalf("ByID(%s): %v", x.ID, err)
		}
		sameUser(t, "ByID", got, x)
		if got.EventStatus != user.EventInProgress {
			t.Errorf("ByID: event status %q, want %q", got.EventStatus, user.EventInProgress)
		}
	}
}

func usersEmailTaken(t *testing.T, users auth.Users) {
	ctx := testenv.Context(t, 10*time.Second)
	first := newUser()
	if err := users.Create(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := newUser()
	second.Email, second.FullName, second.PasswordHash = first.Email, "Mallory", "other"
	if err := users.Create(ctx, second); !errors.Is(err, user.ErrEmailTaken) {
		t.Fatalf("Create with a taken e-mail: err = %v, want user.ErrEmailTaken", err)
	}
	got, err := users.ByEmail(ctx, first.Email)
	if err != nil {
		t.Fatal(err)
	}
	sameUser(t, "ByEmail after the refused Create", got, first)
	if _, err := users.ByID(ctx, second.ID); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("ByID(refused user): err = %v, want user.ErrNotFound", err)
	}
}

func usersConcurrentCreates(t *testing.T, users auth.Users) {
	ctx := testenv.Context(t, 10*time.Second)
	email := newUser().Email
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			u := newUser()
			u.Email = email
			errs[i] = users.Create(ctx, u)
		})
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case !errors.Is(err, user.ErrEmailTaken):
			t.Errorf("concurrent Create: err = %v, want nil or user.ErrEmailTaken", err)
		}
	}
	if created != 1 {
		t.Errorf("%d of %d concurrent Creates of one e-mail succeeded, want 1", created, n)
	}
}

func usersNotFound(t *testing.T, users auth.Users) {
	ctx := testenv.Context(t, 10*time.Second)
	known := newUser()
	if err := users.Create(ctx, known); err != nil {
		t.Fatal(err)
	}
	unknown := newUser()
	if _, err := users.ByEmail(ctx, unknown.Email); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("ByEmail(unknown): err = %v, want user.ErrNotFound", err)
	}
	for _, id := range []string{unknown.ID, "not-a-uuid", ""} {
		if _, err := users.ByID(ctx, id); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("ByID(%q): err = %v, want user.ErrNotFound", id, err)
		}
		if err := users.SetPasswordHash(ctx, id, "h"); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("SetPasswordHash(%q): err = %v, want user.ErrNotFound", id, err)
		}
	}
}

func usersSetPasswordHash(t *testing.T, users auth.Users) {
	ctx := testenv.Context(t, 10*time.Second)
	u, other := newUser(), newUser()
	for _, x := range []user.User{u, other} {
		if err := users.Create(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := users.SetPasswordHash(ctx, u.ID, "upgraded"); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}
	u.PasswordHash = "upgraded"
	// Reads fall back to the primary only for a missing row, so a replica
	// may show the old hash for a moment: wait for the new one.
	var got user.User
	if !testenv.Eventually(5*time.Second, 10*time.Millisecond, func() bool {
		got, _ = users.ByEmail(ctx, u.Email)
		return got.PasswordHash == u.PasswordHash
	}) {
		t.Fatalf("ByEmail after SetPasswordHash = %+v, want hash %q", got, u.PasswordHash)
	}
	sameUser(t, "ByEmail after SetPasswordHash", got, u)
	got, err := users.ByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameUser(t, "ByID after SetPasswordHash", got, u)
	got, err = users.ByID(ctx, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameUser(t, "the other user", got, other)
}
