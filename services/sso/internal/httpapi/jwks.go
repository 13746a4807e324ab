package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/ssokit/platform/services/sso/internal/token"
)

// jwksMaxAge is how long verifiers may cache the key set. A new key must be
// published at least this long before it signs (see token.RotateAt).
const jwksMaxAge = "300"

// JWKS serves the key set of ks (token.KeySet.JWKS) as application/json,
// for /.well-known/jwks.json. The set is read once: a key added later is
// served after a restart, which is also when the process starts signing
// with it. Responses may be cached for five minutes and carry an ETag, so a
// verifier polling the set mostly gets 304 Not Modified. extra keys (the
// OpenID Connect provider's RS256 key) are published after those of ks.
func JWKS(ks *token.KeySet, extra ...token.JWK) http.Handler {
	set := ks.JWKS()
	set.Keys = append(set.Keys, extra...)
	body, err := json.Marshal(set)
	if err != nil {
		// Only strings go into the document; this cannot happen.
		panic("httpapi: encode JWKS: " + err.Error())
	}
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age="+jwksMaxAge)
		h.Set("ETag", etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}
