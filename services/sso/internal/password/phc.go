package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// maxEncodedLen bounds a PHC string before it is parsed; the largest valid
// one (2 GiB, 64 passes, 255 lanes, 64-byte salt, 128-byte key) is about
// 300 characters.
const maxEncodedLen = 512

// b64 is the PHC encoding of salts and hashes: standard alphabet, no
// padding, no stray bits.
var b64 = base64.RawStdEncoding.Strict()

// phc is one decoded argon2id PHC string.
type phc struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// String encodes p as $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>.
func (p phc) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(p.salt), b64.EncodeToString(p.key))
}

// parsePHC decodes s, accepting only the canonical form String produces:
// parameters in the order m, t, p without leading zeros or signs, and
// base64 without padding, line breaks or non-zero trailing bits. Anything
// else, and costs outside what this package would ever compute, is
// ErrMalformedHash.
func parsePHC(s string) (phc, error) {
	if len(s) > maxEncodedLen {
		return phc{}, malformed("longer than %d bytes", maxEncodedLen)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return phc{}, malformed("want 5 fields separated by $")
	}
	if parts[1] != "argon2id" {
		return phc{}, malformed("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return phc{}, malformed("version is not %d", argon2.Version)
	}
	var p phc
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return phc{}, malformed("want parameters m,t,p")
	}
	m, err := parseParam(params[0], "m", maxMemoryKiB)
	if err != nil {
		return phc{}, err
	}
	t, err := parseParam(params[1], "t", maxTime)
	if err != nil {
		return phc{}, err
	}
	threads, err := parseParam(params[2], "p", 255)
	if err != nil {
		return phc{}, err
	}
	if m < 8*threads {
		return phc{}, malformed("memory below 8 KiB per lane")
	}
	p.memory, p.time, p.threads = uint32(m), uint32(t), uint8(threads)
	if p.salt, err = decodeB64(parts[4], "salt", 8, maxSaltLen); err != nil {
		return phc{}, err
	}
	if p.key, err = decodeB64(parts[5], "hash", minKeyLen, maxKeyLen); err != nil {
		return phc{}, err
	}
	return p, nil
}

// parseParam reads "name=<decimal>" with a value in [1, limit].
func parseParam(kv, name string, limit uint64) (uint64, error) {
	v, ok := strings.CutPrefix(kv, name+"=")
	if !ok {
		return 0, malformed("want parameter %s", name)
	}
	if v == "" || v[0] == '0' || strings.TrimLeft(v, "0123456789") != "" {
		return 0, malformed("parameter %s is not a canonical positive integer", name)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > limit {
		return 0, malformed("parameter %s out of range [1, %d]", name, limit)
	}
	return n, nil
}

// decodeB64 decodes a salt or hash of minLen to maxLen bytes, refusing
// any text that does not re-encode to itself (the decoder skips line
// breaks).
func decodeB64(s, what string, minLen, maxLen int) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil || b64.EncodeToString(b) != s {
		return nil, malformed("%s is not unpadded standard base64", what)
	}
	if len(b) < minLen || len(b) > maxLen {
		return nil, malformed("%s length %d outside [%d, %d]", what, len(b), minLen, maxLen)
	}
	return b, nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedHash, fmt.Sprintf(format, args...))
}
