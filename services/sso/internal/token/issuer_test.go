package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testIssuer = "https://sso.test"

// t0 is the fixed instant tests issue at.
var t0 = time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC)

func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func public(priv ed25519.PrivateKey) ed25519.PublicKey { return priv.Public().(ed25519.PublicKey) }

func TestIssueVerifyRoundTrip(t *testing.T) {
	priv := newKey(t)
	iss := NewIssuer(NewKeySet(priv), testIssuer, 10*time.Minute, WithClock(clock(t0.Add(1500*time.Millisecond))))
	issuedAt := t0.Add(time.Second) // truncated to the second, as tokens carry it

	tests := []struct {
		name string
		in   Claims
	}{
		{"user", Claims{Subject: "0198c9a4-1111-7000-8000-000000000001", Email: "ann@example.com"}},
		{"admin", Claims{Subject: "u-2", Email: "root@example.com", Admin: true}},
		{"verified email", Claims{Subject: "u-6", Email: "eve@example.com", EmailVerified: true}},
		{"session", Claims{Subject: "u-6", SessionID: "4f1c2a9e-5b7d-4c3e-9a1f-0d2e3b4c5a6f"}},
		{"no email", Claims{Subject: "u-3"}},
		{"unicode email", Claims{Subject: "u-4", Email: "zoë@exämple.com"}},
		{
			"caller id and times are replaced",
			Claims{Subject: "u-5", ID: "chosen", IssuedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, issued, err := iss.Issue(tt.in)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			want := Claims{
				ID:        issued.ID,
				Subject:   tt.in.Subject,
				Email:     tt.in.Email,
				Admin:     tt.in.Admin,
				SessionID: tt.in.SessionID,
				IssuedAt:  issuedAt,
				// EmailVerified travels as its own claim.
				EmailVerified: tt.in.EmailVerified,
				NotBefore:     issuedAt,
				ExpiresAt:     issuedAt.Add(10 * time.Minute),
			}
			if issued != want {
				t.Errorf("Issue claims = %+v, want %+v", issued, want)
			}
			if id, err := base64.RawURLEncoding.DecodeString(issued.ID); err != nil || len(id) != 16 {
				t.Errorf("ID %q is not 128 bits of base64url (%v)", issued.ID, err)
			}
			got, err := iss.Verify(raw)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != issued {
				t.Errorf("Verify = %+v, want %+v", got, issued)
			}
		})
	}
}

func TestIssueHeaderAndPayload(t *testing.T) {
	priv := newKey(t)
	iss := NewIssuer(NewKeySet(priv), testIssuer, 0, WithClock(clock(t0)))
	raw, c, err := iss.Issue(Claims{Subject: "u-1", Email: "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ExpiresAt != t0.Add(DefaultTTL) {
		t.Errorf("ExpiresAt = %v, want %v (DefaultTTL when ttl is 0)", c.ExpiresAt, t0.Add(DefaultTTL))
	}
	tok, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": KeyID(public(priv))}
	if len(tok.Header) != len(wantHeader) {
		t.Errorf("header = %v, want %v", tok.Header, wantHeader)
	}
	for k, v := range wantHeader {
		if tok.Header[k] != v {
			t.Errorf("header %s = %v, want %v", k, tok.Header[k], v)
		}
	}
	wantClaims := jwt.MapClaims{
		"iss": testIssuer, "sub": "u-1", "email": "ann@example.com", "email_verified": false, "admin": false, "jti": c.ID,
		"iat": float64(t0.Unix()), "nbf": float64(t0.Unix()), "exp": float64(t0.Add(DefaultTTL).Unix()),
	}
	got := tok.Claims.(jwt.MapClaims)
	if len(got) != len(wantClaims) {
		t.Errorf("claims = %v, want %v", got, wantClaims)
	}
	for k, v := range wantClaims {
		if got[k] != v {
			t.Errorf("claim %s = %v, want %v", k, got[k], v)
		}
	}
}

func TestIssueIDsAreUnique(t *testing.T) {
	iss := NewIssuer(NewKeySet(newKey(t)), testIssuer, 0, WithClock(clock(t0)))
	seen := make(map[string]bool)
	for range 1000 {
		_, c, err := iss.Issue(Claims{Subject: "u-1"})
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.ID] {
			t.Fatalf("ID %q issued twice", c.ID)
		}
		seen[c.ID] = true
	}
}

func TestIssueRefuses(t *testing.T) {
	iss := NewIssuer(NewKeySet(newKey(t)), testIssuer, 0, WithClock(clock(t0)))
	if _, _, err := iss.Issue(Claims{Email: "ann@example.com"}); err == nil {
		t.Error("Issue without subject: no error")
	}

	dir := t.TempDir()
	if _, err := RotateAt(dir, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	keys, err := loadDir(dir, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	early := NewIssuer(keys, testIssuer, 0, WithClock(clock(t0)))
	if _, _, err := early.Issue(Claims{Subject: "u-1"}); err == nil {
		t.Error("Issue before any key signs: no error")
	}
}

// forge signs a token with an arbitrary method, header and claims, as an
// attacker (or a buggy issuer) could.
func forge(t *testing.T, method jwt.SigningMethod, header map[string]any, claims jwt.MapClaims, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// validClaims are what Issue would write at t0; cases change one thing.
func validClaims(change func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": testIssuer, "sub": "u-1", "email": "ann@example.com", "admin": false, "jti": "id-1",
		"iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(DefaultTTL).Unix(),
	}
	if change != nil {
		change(c)
	}
	return c
}

// segment replaces part i of a compact JWS with the base64url of s.
func segment(raw string, i int, s string) string {
	parts := strings.Split(raw, ".")
	parts[i] = base64.RawURLEncoding.EncodeToString([]byte(s))
	return strings.Join(parts, ".")
}

func TestVerifyRefuses(t *testing.T) {
	priv := newKey(t)
	pub := public(priv)
	kid := KeyID(pub)
	iss := NewIssuer(NewKeySet(priv), testIssuer, DefaultTTL, WithClock(clock(t0)))
	good, _, err := iss.Issue(Claims{Subject: "u-1", Email: "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]any{"kid": kid}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(good, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	adminPayload := strings.Replace(string(payload), `"admin":false`, `"admin":true`, 1)
	if adminPayload == string(payload) {
		t.Fatalf("payload %s has no admin claim to flip", payload)
	}
	other := newKey(t)

	tests := []struct {
		name   string
		raw    string
		reason error
	}{
		{"empty", "", errMalformed},
		{"a.b.c", "a.b.c", errMalformed},
		{"two segments", "a.b", errMalformed},
		{"four segments", good + ".x", errMalformed},
		{"not base64", "!!!.@@@.###", errMalformed},
		{"huge", strings.Repeat("a", 1<<20), errTooLong},
		{"huge token shape", strings.Repeat("eyJ", 3000) + "." + strings.Repeat("eyJ", 3000) + ".sig", errTooLong},
		{"header not JSON", segment(good, 0, "not json"), errMalformed},
		{"payload not JSON", segment(good, 1, "[1,2"), errMalformed},
		{"signature padded", good + "=", errMalformed},
		{"admin not a bool", forge(t, jwt.SigningMethodEdDSA, ours, validClaims(func(c jwt.MapClaims) { c["admin"] = "yes" }), priv), errMalformed},
		{
			"alg none",
			forge(t, jwt.SigningMethodNone, ours, validClaims(nil), jwt.UnsafeAllowNoneSignatureType),
			errAlgorithm,
		},
		{
			// The classic key confusion: the public key, which anyone
			// has, used as an HMAC secret.
			"HS256 keyed with the public key",
			forge(t, jwt.SigningMethodHS256, ours, validClaims(nil), []byte(pub)),
			errAlgorithm,
		},
		{"alg missing", segment(good, 0, `{"typ":"JWT","kid":"`+kid+`"}`), errAlgorithm},
		{"alg unknown", segment(good, 0, `{"alg":"Ed448","typ":"JWT","kid":"`+kid+`"}`), errAlgorithm},
		{"other key, same kid", forge(t, jwt.SigningMethodEdDSA, ours, validClaims(nil), other), errSignature},
		{"admin flipped, original signature", segment(good, 1, adminPayload), errSignature},
		{"signature of another token", strings.Join(append(strings.Split(good, ".")[:2], strings.Split(forge(t, jwt.SigningMethodEdDSA, ours, validClaims(nil), priv), ".")[2]), "."), errSignature},
		{"kid missing", forge(t, jwt.SigningMethodEdDSA, nil, validClaims(nil), priv), errNoKeyID},
		{"kid empty", forge(t, jwt.SigningMethodEdDSA, map[string]any{"kid": ""}, validClaims(nil), priv), errNoKeyID},
		{"kid not a string", forge(t, jwt.SigningMethodEdDSA, map[string]any{"kid": 7}, validClaims(nil), priv), errNoKeyID},
		{"kid unknown", forge(t, jwt.SigningMethodEdDSA, map[string]any{"kid": KeyID(public(other))}, validClaims(nil), other), errUnknownKey},
		{"typ missing", forge(t, jwt.SigningMethodEdDSA, map[string]any{"kid": kid, "typ": nil}, validClaims(nil), priv), errType},
		{"typ other", forge(t, jwt.SigningMethodEdDSA, map[string]any{"kid": kid, "typ": "at+jwt"}, validClaims(nil), priv), errType},
		{"crit header", forge(t, jwt.SigningMethodEdDSA, map[string]any{"kid": kid, "crit": []string{"exp"}}, validClaims(nil), priv), errCritical},
		{
			"expired",
			forge(t, jwt.SigningMethodEdDSA, ours, validClaims(func(c jwt.MapClaims) {
				c["iat"], c["nbf"], c["exp"] = t0.Add(-time.Hour).Unix(), t0.Add(-time.Hour).Unix(), t0.Add(-Leeway-time.Second).Unix()
			}), priv),
			errExpired,
		},
		{
			"not yet valid",
			forge(t, jwt.SigningMethodEdDSA, ours, validClaims(func(c jwt.MapClaims) {
				c["nbf"] = t0.Add(Leeway + time.Second).Unix()
			}), priv),
			errNotYetValid,
		},
		{
			"issued in the future",
			forge(t, jwt.SigningMethodEdDSA, ours, validClaims(func(c jwt.MapClaims) {
				c["iat"] = t0.Add(Leeway + time.Second).Unix()
			}), priv),
			errNotYetValid,
		},
		{"wrong iss", forge(t, jwt.SigningMethodEdDSA, ours, validClaims(func(c jwt.MapClaims) { c["iss"] = "https://evil.test" }), priv), errIssuer},
		{"iss missing", forge(t, jwt.SigningMethodEdDSA, ours, validClaims(func(c jwt.MapClaims) { delete(c, "iss") }), priv), errMissingClaim},
		{"exp missing", forge(t, jwt.SigningMethodEdDSA, ours, validClaims(func(c jwt.MapClaims) { delete(c, "exp") }), priv), errMissingClaim},
		{"sub missing", forge(t, jwt.SigningMethodEdDSA, ours, validClaims(func(c jwt.MapClaims) { delete(c, "sub") }), priv), errMissingClaim},
		{"jti missing", forge(t, jwt.SigningMethodEdDSA, ours, validClaims(func(c jwt.MapClaims) { delete(c, "jti") }), priv), errMissingClaim},
		{"iat missing", forge(t, jwt.SigningMethodEdDSA, ours, validClaims(func(c jwt.MapClaims) { delete(c, "iat") }), priv), errMissingClaim},
		{"exp not a number", forge(t, jwt.SigningMethodEdDSA, ours, validClaims(func(c jwt.MapClaims) { c["exp"] = "tomorrow" }), priv), errMalformed},
	}
	// The same refusals from an Issuer whose cache holds the good token,
	// which most of the forgeries are made from.
	cached := NewIssuer(NewKeySet(priv), testIssuer, DefaultTTL, WithClock(clock(t0)), WithVerifiedCache(newVerifiedCache(t, 16)))
	if _, err := cached.Verify(good); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, iss := range []*Issuer{iss, cached} {
				got, err := iss.Verify(tt.raw)
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Verify (cache %t) error = %v, want ErrInvalid", iss.verified != nil, err)
				}
				if !errors.Is(err, tt.reason) {
					t.Errorf("Verify (cache %t) error = %v, want reason %v", iss.verified != nil, err, tt.reason)
				}
				if got != (Claims{}) {
					t.Errorf("Verify (cache %t) returned claims %+v with its error", iss.verified != nil, got)
				}
			}
		})
	}
	if n := cached.verified.len(); n != 1 {
		t.Errorf("cache holds %d tokens after the refusals, want only the good one", n)
	}
}

func TestVerifyLeeway(t *testing.T) {
	priv := newKey(t)
	keys := NewKeySet(priv)
	raw, _, err := NewIssuer(keys, testIssuer, DefaultTTL, WithClock(clock(t0))).Issue(Claims{Subject: "u-1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		at   time.Time
		want error
	}{
		{"at issue", t0, nil},
		{"issuer clock ahead within leeway", t0.Add(-Leeway), nil},
		{"issuer clock ahead beyond leeway", t0.Add(-Leeway - time.Second), errNotYetValid},
		{"just before exp", t0.Add(DefaultTTL - time.Second), nil},
		{"after exp within leeway", t0.Add(DefaultTTL + Leeway - time.Second), nil},
		{"after exp beyond leeway", t0.Add(DefaultTTL + Leeway + time.Second), errExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewIssuer(keys, testIssuer, DefaultTTL, WithClock(clock(tt.at))).Verify(raw)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want ErrInvalid with %v", err, tt.want)
			}
		})
	}
}

func TestVerifyIssuerMustMatch(t *testing.T) {
	keys := NewKeySet(newKey(t))
	tests := []struct {
		issued, verifier string
		reason           error
	}{
		{testIssuer, "https://other.test", errIssuer},
		{testIssuer, testIssuer + "/", errIssuer},
		{testIssuer, "", errIssuer},
		{"", testIssuer, errMissingClaim},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q to %q", tt.issued, tt.verifier), func(t *testing.T) {
			raw, _, err := NewIssuer(keys, tt.issued, 0, WithClock(clock(t0))).Issue(Claims{Subject: "u-1"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewIssuer(keys, tt.verifier, 0, WithClock(clock(t0))).Verify(raw)
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, tt.reason) {
				t.Fatalf("Verify error = %v, want ErrInvalid with %v", err, tt.reason)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := newKey(t), newKey(t)
	before := NewIssuer(NewKeySet(oldKey), testIssuer, 0, WithClock(clock(t0)))
	oldToken, oldClaims, err := before.Issue(Claims{Subject: "u-1", Admin: true})
	if err != nil {
		t.Fatal(err)
	}

	// Rotated: the new key signs, the old one is still published.
	rotated := NewIssuer(NewKeySet(newKey, public(oldKey)), testIssuer, 0, WithClock(clock(t0.Add(time.Minute))))
	got, err := rotated.Verify(oldToken)
	if err != nil {
		t.Fatalf("token of the old key after rotation: %v", err)
	}
	if got != oldClaims {
		t.Errorf("Verify = %+v, want %+v", got, oldClaims)
	}
	newToken, _, err := rotated.Issue(Claims{Subject: "u-1"})
	if err != nil {
		t.Fatal(err)
	}
	if kid := headerKID(t, newToken); kid != KeyID(public(newKey)) {
		t.Errorf("new token kid = %q, want the new key's %q", kid, KeyID(public(newKey)))
	}
	if _, err := before.Verify(newToken); !errors.Is(err, errUnknownKey) {
		t.Errorf("replica without the new key: Verify error = %v, want %v", err, errUnknownKey)
	}

	// Retired: the old key is no longer published.
	retired := NewIssuer(NewKeySet(newKey), testIssuer, 0, WithClock(clock(t0.Add(time.Minute))))
	if _, err := retired.Verify(oldToken); !errors.Is(err, ErrInvalid) || !errors.Is(err, errUnknownKey) {
		t.Errorf("token of a removed key: Verify error = %v, want ErrInvalid with %v", err, errUnknownKey)
	}
	if _, err := retired.Verify(newToken); err != nil {
		t.Errorf("token of the current key: %v", err)
	}
}

// TestRotationAtInstant follows the documented procedure: a key added with
// a future instant is published at once and signs from that instant.
func TestRotationAtInstant(t *testing.T) {
	dir := t.TempDir()
	oldKID, err := RotateAt(dir, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	switchAt := t0.Add(10 * time.Minute)
	newKID, err := RotateAt(dir, switchAt)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := loadDir(dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	if kids := jwksKIDs(keys); len(kids) != 2 || kids[0] != newKID || kids[1] != oldKID {
		t.Errorf("published kids = %v, want [%s %s]", kids, newKID, oldKID)
	}

	tests := []struct {
		at   time.Time
		want string
	}{
		{t0, oldKID},
		{switchAt.Add(-time.Second), oldKID},
		{switchAt, newKID},
		{switchAt.Add(time.Hour), newKID},
	}
	var tokens []string
	for _, tt := range tests {
		iss := NewIssuer(keys, testIssuer, 0, WithClock(clock(tt.at)))
		raw, _, err := iss.Issue(Claims{Subject: "u-1"})
		if err != nil {
			t.Fatal(err)
		}
		if kid := headerKID(t, raw); kid != tt.want {
			t.Errorf("at %v: kid = %q, want %q", tt.at, kid, tt.want)
		}
		if got := keys.ActiveKID(tt.at); got != tt.want {
			t.Errorf("ActiveKID(%v) = %q, want %q", tt.at, got, tt.want)
		}
		tokens = append(tokens, raw)
	}
	// Every token verifies on a replica that has the same directory.
	verifier := NewIssuer(keys, testIssuer, 0, WithClock(clock(switchAt)))
	for _, raw := range tokens[:3] {
		if _, err := verifier.Verify(raw); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
}

func headerKID(t *testing.T, raw string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

func FuzzVerify(f *testing.F) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	iss := NewIssuer(NewKeySet(priv), testIssuer, 0, WithClock(clock(t0)))
	good, _, err := iss.Issue(Claims{Subject: "u-1", Email: "ann@example.com"})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, "", "a.b.c", "..", good + "=", strings.ToUpper(good), good[:len(good)/2]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := iss.Verify(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Verify error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if c.Subject == "" || c.ID == "" || c.ExpiresAt.IsZero() {
			t.Fatalf("Verify accepted %q with incomplete claims %+v", raw, c)
		}
	})
}

func BenchmarkIssue(b *testing.B) {
	iss := NewIssuer(NewKeySet(newKey(b)), testIssuer, 0)
	c := Claims{Subject: "0198c9a4-1111-7000-8000-000000000001", Email: "ann@example.com"}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := iss.Issue(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, bb := range []struct {
		name string
		opts []IssuerOption
	}{
		{"full", nil},
		// A repeat check of a token held in the cache: what a resource
		// server's second and later requests with one token cost.
		{"cached", []IssuerOption{WithVerifiedCache(newVerifiedCache(b, 1024))}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			iss := NewIssuer(NewKeySet(newKey(b)), testIssuer, 0, append([]IssuerOption{WithAudience("ssokit")}, bb.opts...)...)
			raw, _, err := iss.Issue(Claims{Subject: "0198c9a4-1111-7000-8000-000000000001", Email: "ann@example.com"})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := iss.Verify(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestVerifyChecksAudience: a token made with the same keys for another
// audience, or for none, is refused; one naming ours among others passes.
func TestVerifyChecksAudience(t *testing.T) {
	keys := NewKeySet(newKey(t))
	ours := NewIssuer(keys, testIssuer, DefaultTTL, WithAudience("ssokit"))
	for _, tt := range []struct {
		name    string
		minter  *Issuer
		wantErr error
	}{
		{"ours", ours, nil},
		{"ours among others", NewIssuer(keys, testIssuer, DefaultTTL, WithAudience("billing", "ssokit")), nil},
		{"another audience", NewIssuer(keys, testIssuer, DefaultTTL, WithAudience("billing")), errAudience},
		{"no audience", NewIssuer(keys, testIssuer, DefaultTTL), errMissingClaim},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw, _, err := tt.minter.Issue(Claims{Subject: "u-1"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = ours.Verify(raw)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tt.wantErr != nil && (!errors.Is(err, ErrInvalid) || !errors.Is(err, tt.wantErr)) {
				t.Fatalf("Verify: %v, want %v", err, tt.wantErr)
			}
		})
	}
}
