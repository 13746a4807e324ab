// Package sealbox seals short secrets (one-time tokens) into events for the
// one service meant to read them, so that whoever can read a Kafka topic
// cannot use what it carries.
//
// A secret is encrypted with AES-256-GCM under the current key of a Ring
// that the producer (sso) and the reader (welcome-notifier) share and
// nobody else holds. The additional authenticated data names what the
// secret is for (its purpose, user and event, see AAD), so a sealed token
// copied into another event, or another user's, does not open.
//
// Keys rotate without losing events in flight: a ring file lists keys
// newest first; the first seals, every one opens. To rotate, put a new key
// at the top of both services' files and drop the old one once no event
// sealed with it can still be consumed (the topic's retention).
package sealbox

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	eventsv1 "github.com/ssokit/platform/libs/gen/events/v1"
)

// KeySize is the length of a key: AES-256.
const KeySize = 32

// ErrUnsealable means a sealed secret cannot be opened: its key is not in
// the ring, or it was altered, or it belongs to another purpose, user or
// event. Retrying never helps.
var ErrUnsealable = errors.New("sealbox: secret cannot be opened")

// Ring is an ordered set of keys: the first seals, any opens.
type Ring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// Load reads a ring file (see Parse). The file holds secrets, so Load
// refuses one that anybody outside its owner and group can read, or that
// its group can change. Its group may read it: Kubernetes mounts Secrets
// readable by the pod's fsGroup.
func Load(path string) (*Ring, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("sealbox: %w", err)
	}
	if info.Mode().Perm()&0o027 != 0 {
		return nil, fmt.Errorf("sealbox: %s is readable by others (mode %v); chmod 600 it", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sealbox: %w", err)
	}
	r, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("sealbox: %s: %w", path, err)
	}
	return r, nil
}

// Parse reads a ring from its text form: one key per line, "<id>
// <base64 of 32 random bytes>", newest first; blank lines and lines
// starting with # are ignored. Ids are short names without spaces (a date
// serves), unique within the ring.
func Parse(data []byte) (*Ring, error) {
	r := &Ring{aeads: make(map[string]cipher.AEAD)}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, encoded, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("line %d: want \"<id> <base64 key>\"", n)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
		if err != nil || len(key) != KeySize {
			// The key itself is never quoted: it is a secret.
			return nil, fmt.Errorf("line %d: key %q is not %d bytes in base64", n, id, KeySize)
		}
		if _, dup := r.aeads[id]; dup {
			return nil, fmt.Errorf("line %d: key id %q appears twice", n, id)
		}
		aead, err := newAEAD(key)
		if err != nil {
			return nil, err
		}
		r.aeads[id] = aead
		if r.current == "" {
			r.current = id
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if r.current == "" {
		return nil, errors.New("no key")
	}
	return r, nil
}

// NewKeyLine returns a ring file line holding a new random key named id.
func NewKeyLine(id string) (string, error) {
	if id == "" || strings.ContainsAny(id, " \t\n#") {
		return "", fmt.Errorf("sealbox: key id %q must be non-empty, without spaces or #", id)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	return id + " " + base64.StdEncoding.EncodeToString(key), nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// CurrentKeyID is the id of the key that seals.
func (r *Ring) CurrentKeyID() string { return r.current }

// AAD is the additional authenticated data of a secret: what it is for
// (a purpose such as "email-verification"), whose it is and in which
// event it travels. Sealing and opening must agree on all three.
func AAD(purpose, userID, eventID string) []byte {
	return []byte("ssokit-sealed-v1\x00" + purpose + "\x00" + userID + "\x00" + eventID)
}

// Seal encrypts secret under the current key, bound to aad.
func (r *Ring) Seal(secret, aad []byte) (*eventsv1.SealedSecret, error) {
	aead := r.aeads[r.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("sealbox: nonce: %w", err)
	}
	return &eventsv1.SealedSecret{
		KeyId:      r.current,
		Nonce:      nonce,
		Ciphertext: aead.Seal(nil, nonce, secret, aad),
	}, nil
}

// Open decrypts s, which must have been sealed with aad by a key of the
// ring; anything else is ErrUnsealable.
func (r *Ring) Open(s *eventsv1.SealedSecret, aad []byte) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: no sealed secret", ErrUnsealable)
	}
	aead, ok := r.aeads[s.GetKeyId()]
	if !ok {
		return nil, fmt.Errorf("%w: unknown key id %q", ErrUnsealable, s.GetKeyId())
	}
	if len(s.GetNonce()) != aead.NonceSize() {
		return nil, fmt.Errorf("%w: nonce of %d bytes", ErrUnsealable, len(s.GetNonce()))
	}
	plain, err := aead.Open(nil, s.GetNonce(), s.GetCiphertext(), aad)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsealable, err)
	}
	return plain, nil
}
