package postgres_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"
	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/sso/internal/audit"
	"github.com/ssokit/platform/services/sso/internal/user"
)

// TestRegistrationStoresTheDataKeyAndDeleteShredsIt: the registration's
// one statement stores the user's data key, sealed under the ring; the
// events carry the personal data sealed under that key only; Delete
// removes the key, after which nothing opens them.
func TestRegistrationStoresTheDataKeyAndDeleteShredsIt(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	ring := testRing(t)
	users, committed := accounts(t, primary, ring)

	u := newUser(t)
	u.FullName = "Shreddable Person " + u.ID[:8]
	if err := users.CreateWithToken(ctx, u, newToken(t, user.PurposeEmailVerification, time.Hour)); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Version int    `db:"version"`
		RingKey string `db:"ring_key_id"`
		Nonce   []byte `db:"nonce"`
		Sealed  []byte `db:"sealed_key"`
	}
	if err := primary.SelectContext(ctx, &rows, "SELECT version, ring_key_id, nonce, sealed_key FROM user_data_keys WHERE user_id = $1", u.ID); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Version != sealbox.DataKeyVersion || rows[0].RingKey != ring.CurrentKeyID() || len(rows[0].Nonce) != 12 || len(rows[0].Sealed) != sealbox.KeySize+16 {
		t.Fatalf("user_data_keys rows %+v, want one key of version 1 sealed by the ring's current key", rows)
	}
	wrapped, err := users.DataKey(ctx, u.ID, sealbox.DataKeyVersion)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ring.UnwrapDataKey(u.ID, sealbox.DataKeyVersion, wrapped)
	if err != nil {
		t.Fatalf("the stored key does not open with the ring as the user's: %v", err)
	}

	recs := committed()
	if len(recs) != 2 {
		t.Fatalf("%d records, want UserRegistered and EmailVerificationRequested", len(recs))
	}
	var reg eventsv1.UserRegistered
	if err := proto.Unmarshal(recs[0].Payload, &reg); err != nil {
		t.Fatal(err)
	}
	if reg.GetEmail() != "" || reg.GetFullName() != "" {
		t.Fatalf("UserRegistered carries %q, %q in clear", reg.GetEmail(), reg.GetFullName())
	}
	for _, rec := range recs {
		for _, s := range []string{u.Email, u.FullName} {
			if bytes.Contains(rec.Payload, []byte(s)) {
				t.Fatalf("the %s payload contains %q", rec.EventType, s)
			}
		}
	}
	p, err := sealbox.OpenPersonal(key, u.ID, reg.GetEventId(), reg.GetPersonal())
	if err != nil || p.GetEmail() != u.Email || p.GetFullName() != u.FullName {
		t.Fatalf("UserRegistered personal data = %v, %v; want %q, %q", p, err, u.Email, u.FullName)
	}

	if err := users.Delete(ctx, u.ID, audit.Self(u.ID)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, primary, "SELECT count(*) FROM user_data_keys WHERE user_id = $1", u.ID); n != 0 {
		t.Fatalf("%d data keys left after Delete", n)
	}
	if _, err := users.DataKey(ctx, u.ID, sealbox.DataKeyVersion); !errors.Is(err, user.ErrNotFound) {
		t.Fatalf("DataKey after Delete = %v, want ErrNotFound", err)
	}
	// A reader left with nothing but the ring cannot open the event: the
	// personal data is under a key no longer anywhere.
	if _, err := ring.Open(&eventsv1.SealedSecret{KeyId: ring.CurrentKeyID(), Nonce: reg.GetPersonal().GetNonce(), Ciphertext: reg.GetPersonal().GetCiphertext()},
		sealbox.AAD(sealbox.PurposePersonal, u.ID, reg.GetEventId())); !errors.Is(err, sealbox.ErrUnsealable) {
		t.Fatalf("the ring opens the personal data directly: %v", err)
	}
}

// TestEventsOfAUserWithoutKeyGiveItOne: a user registered before data keys
// existed gets one with its first event, and keeps it.
func TestEventsOfAUserWithoutKeyGiveItOne(t *testing.T) {
	t.Parallel()
	primary, _ := testDB(t)
	ctx := testenv.Context(t, 30*time.Second)
	ring := testRing(t)
	users, committed := accounts(t, primary, ring)

	u := newUser(t)
	if err := users.CreateWithToken(ctx, u, newToken(t, user.PurposeEmailVerification, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := primary.ExecContext(ctx, "DELETE FROM user_data_keys WHERE user_id = $1", u.ID); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		reset := newToken(t, user.PurposePasswordReset, time.Hour)
		if err := users.IssueToken(ctx, u, reset); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, primary, "SELECT count(*) FROM user_data_keys WHERE user_id = $1", u.ID); n != 1 {
		t.Fatalf("%d data keys, want 1", n)
	}
	recs := committed()
	for _, rec := range recs[len(recs)-2:] {
		_, ev, _ := storedEvent(t, primary, rec.ID)
		req := ev.GetPasswordResetRequested()
		if got := openPersonal(t, users, ring, u.ID, ev.GetEventId(), req.GetEmail(), req.GetPersonal()); got.GetEmail() != u.Email {
			t.Fatalf("reset event personal data %v", got)
		}
	}
}
