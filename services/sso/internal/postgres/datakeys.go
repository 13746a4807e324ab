package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
	"github.com/ssokit/platform/libs/sealbox"

	"github.com/ssokit/platform/services/sso/internal/user"
)

// WithDataKeys has Users give each new user a data key, stored sealed
// under ring, and seal the personal data of the user's events with it
// (crypto-shredding: Delete destroys the key). Users that write events
// need it.
func WithDataKeys(ring *sealbox.Ring) Option {
	return func(u *Users) { u.ring = ring }
}

// errNoDataKeys is returned by the methods writing events of a Users built
// without WithDataKeys: an event's personal data must not go out in clear.
var errNoDataKeys = errors.New("postgres: data keys are not configured")

const (
	selectDataKey = `SELECT ring_key_id, nonce, sealed_key FROM user_data_keys WHERE user_id = $1 AND version = $2`

	// insertDataKey gives a key to a user who has none: one registered
	// before data keys existed. Of two concurrent inserts one wins; the
	// other inserts nothing and reads the winner's.
	insertDataKey = `INSERT INTO user_data_keys (user_id, version, ring_key_id, nonce, sealed_key)
	VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`

	deleteDataKeys = `DELETE FROM user_data_keys WHERE user_id = $1`
)

// sealedKey is a data key as user_data_keys stores it.
type sealedKey struct {
	RingKeyID string `db:"ring_key_id"`
	Nonce     []byte `db:"nonce"`
	Sealed    []byte `db:"sealed_key"`
}

func (k sealedKey) secret() *eventsv1.SealedSecret {
	return &eventsv1.SealedSecret{KeyId: k.RingKeyID, Nonce: k.Nonce, Ciphertext: k.Sealed}
}

// newDataKey returns a new data key for the user and its sealed form.
func (r *Users) newDataKey(userID string) ([]byte, *eventsv1.SealedSecret, error) {
	if r.ring == nil {
		return nil, nil, errNoDataKeys
	}
	key, err := sealbox.NewDataKey()
	if err != nil {
		return nil, nil, err
	}
	sealed, err := r.ring.WrapDataKey(userID, sealbox.DataKeyVersion, key)
	if err != nil {
		return nil, nil, err
	}
	return key, sealed, nil
}

// dataKey returns the user's data key within tx, giving the user one if it
// has none yet.
func (r *Users) dataKey(ctx context.Context, tx *sqlx.Tx, userID string) ([]byte, error) {
	if r.ring == nil {
		return nil, errNoDataKeys
	}
	var k sealedKey
	err := tx.GetContext(ctx, &k, selectDataKey, userID, sealbox.DataKeyVersion)
	if errors.Is(err, sql.ErrNoRows) {
		_, sealed, nerr := r.newDataKey(userID)
		if nerr != nil {
			return nil, nerr
		}
		if _, err := tx.ExecContext(ctx, insertDataKey, userID, sealbox.DataKeyVersion, sealed.GetKeyId(), sealed.GetNonce(), sealed.GetCiphertext()); err != nil {
			return nil, fmt.Errorf("insert data key: %w", err)
		}
		err = tx.GetContext(ctx, &k, selectDataKey, userID, sealbox.DataKeyVersion)
	}
	if err != nil {
		return nil, fmt.Errorf("read data key: %w", err)
	}
	key, err := r.ring.UnwrapDataKey(userID, sealbox.DataKeyVersion, k.secret())
	if err != nil {
		return nil, fmt.Errorf("open data key: %w", err)
	}
	return key, nil
}

// DataKey returns the user's data key of version as stored, sealed under
// the ring and bound to the user (sealbox.DataKeyAAD), or user.ErrNotFound
// when the user has none: never registered, or deleted. It reads the
// primary: a replica could still hold the key of an account whose
// deletion has just committed, or not yet hold a new user's.
func (r *Users) DataKey(ctx context.Context, userID string, version uint32) (*eventsv1.SealedSecret, error) {
	if !isUUID(userID) {
		return nil, user.ErrNotFound
	}
	st, err := r.primary.get(ctx, selectDataKey)
	if err != nil {
		return nil, fmt.Errorf("postgres: data key: %w", err)
	}
	var k sealedKey
	if err := st.GetContext(ctx, &k, userID, version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, user.ErrNotFound
		}
		return nil, fmt.Errorf("postgres: data key: %w", err)
	}
	return k.secret(), nil
}
