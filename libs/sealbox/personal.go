package sealbox

import (
	"crypto/rand"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
)

// Crypto-shredding: each user has a data key of its own, which sso keeps
// sealed under the ring (WrapDataKey) and destroys when the account is
// deleted. Events carry the user's personal data encrypted under that key
// (SealPersonal), so once the key is gone no copy of them can be read,
// whatever topic or disk still holds it.

// Purposes of the additional authenticated data of the data key and of
// the personal data it seals; distinct from every token purpose.
const (
	PurposeDataKey  = "user-data-key"
	PurposePersonal = "personal-data"
)

// DataKeyVersion is the version of the data keys sso issues: one key per
// user so far. A version lets a user's key be replaced later without
// making the events sealed by the older one unreadable before their time.
const DataKeyVersion = 1

// NewDataKey returns a new random data key.
func NewDataKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("sealbox: data key: %w", err)
	}
	return key, nil
}

// DataKeyAAD binds a sealed data key to its user and version: a key
// sealed for one user does not open as another's.
func DataKeyAAD(userID string, version uint32) []byte {
	return AAD(PurposeDataKey, userID, "v"+strconv.FormatUint(uint64(version), 10))
}

// WrapDataKey seals the data key of userID under the ring.
func (r *Ring) WrapDataKey(userID string, version uint32, key []byte) (*eventsv1.SealedSecret, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealbox: data key of %d bytes, want %d", len(key), KeySize)
	}
	return r.Seal(key, DataKeyAAD(userID, version))
}

// UnwrapDataKey opens the sealed data key of userID; anything but such a
// key is ErrUnsealable.
func (r *Ring) UnwrapDataKey(userID string, version uint32, s *eventsv1.SealedSecret) ([]byte, error) {
	key, err := r.Open(s, DataKeyAAD(userID, version))
	if err != nil {
		return nil, err
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: data key of %d bytes", ErrUnsealable, len(key))
	}
	return key, nil
}

// SealPersonal encrypts p under the user's data key (of version), bound
// to the user and to the event that carries it.
func SealPersonal(key []byte, version uint32, userID, eventID string, p *eventsv1.PersonalData) (*eventsv1.SealedPersonal, error) {
	plain, err := proto.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("sealbox: personal data: %w", err)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("sealbox: data key: %w", err)
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("sealbox: nonce: %w", err)
	}
	return &eventsv1.SealedPersonal{
		KeyVersion: version,
		Nonce:      nonce,
		Ciphertext: aead.Seal(nil, nonce, plain, AAD(PurposePersonal, userID, eventID)),
	}, nil
}

// OpenPersonal decrypts the personal data s of the user's event with the
// user's data key; a wrong key, user or event, or an altered s, is
// ErrUnsealable.
func OpenPersonal(key []byte, userID, eventID string, s *eventsv1.SealedPersonal) (*eventsv1.PersonalData, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: no sealed personal data", ErrUnsealable)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("%w: data key: %w", ErrUnsealable, err)
	}
	if len(s.GetNonce()) != aead.NonceSize() {
		return nil, fmt.Errorf("%w: nonce of %d bytes", ErrUnsealable, len(s.GetNonce()))
	}
	plain, err := aead.Open(nil, s.GetNonce(), s.GetCiphertext(), AAD(PurposePersonal, userID, eventID))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsealable, err)
	}
	var p eventsv1.PersonalData
	if err := proto.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsealable, err)
	}
	return &p, nil
}
