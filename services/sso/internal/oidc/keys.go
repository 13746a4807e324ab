package oidc

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ssokit/platform/services/sso/internal/token"
)

// rsaBits is the key size: 2048 is NIST's floor until 2030 and what every
// relying-party library verifies fastest.
const rsaBits = 2048

// SigningKey is the RS256 key of ID tokens and OpenID Connect access
// tokens. OpenID Connect requires RS256 support of every relying party,
// which EdDSA (sso's API tokens) does not have, so the provider signs with
// this one and the JWKS publishes both.
type SigningKey struct {
	priv *rsa.PrivateKey
	kid  string
}

// LoadKey reads a PKCS#8 PEM RSA private key; with create, a missing file
// is generated first (local development; production mounts the secret and
// a missing one stops the process).
func LoadKey(path string, create bool) (*SigningKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		if data, err = writeKey(path); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read RSA key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("RSA key %s: no PEM PRIVATE KEY block", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("RSA key %s: %w", path, err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok || priv.N.BitLen() < rsaBits {
		return nil, fmt.Errorf("RSA key %s: not an RSA key of at least %d bits", path, rsaBits)
	}
	return NewSigningKey(priv), nil
}

// NewSigningKey wraps priv; its kid is the RFC 7638 thumbprint, so every
// replica names the same key alike.
func NewSigningKey(priv *rsa.PrivateKey) *SigningKey {
	jwk := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		panic("oidc: thumbprint of an RSA key: " + err.Error())
	}
	return &SigningKey{priv: priv, kid: base64.RawURLEncoding.EncodeToString(tp)}
}

func writeKey(path string) ([]byte, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, fmt.Errorf("generate RSA key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create RSA key directory: %w", err)
	}
	// O_EXCL: of replicas starting together, one writes; the others read.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("write RSA key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("write RSA key: %w", err)
	}
	return data, f.Close()
}

// KeyID is the kid of tokens the key signs.
func (k *SigningKey) KeyID() string { return k.kid }

// PublicJWK returns the public key's JSON Web Key members (RFC 7518,
// section 6.3.1): n and e, base64url.
func (k *SigningKey) PublicJWK() (n, e string) {
	pub := k.priv.PublicKey
	return base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
}

// cryptoKey derives the op's AES key (it encrypts the code values it hands
// out) from the RSA key, so every replica derives the same one.
func (k *SigningKey) cryptoKey() [32]byte {
	der, _ := x509.MarshalPKCS8PrivateKey(k.priv)
	return sha256.Sum256(append([]byte("ssokit oidc crypto key\x00"), der...))
}

// The op's views of the key.
type (
	opSigningKey struct{ k *SigningKey }
	opPublicKey  struct{ k *SigningKey }
)

func (s opSigningKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (s opSigningKey) Key() any                                    { return s.k.priv }
func (s opSigningKey) ID() string                                  { return s.k.kid }
func (p opPublicKey) ID() string                                   { return p.k.kid }
func (p opPublicKey) Algorithm() jose.SignatureAlgorithm           { return jose.RS256 }
func (p opPublicKey) Use() string                                  { return "sig" }
func (p opPublicKey) Key() any                                     { return &p.k.priv.PublicKey }

// JWK is the public key as sso's JWKS publishes it.
func (k *SigningKey) JWK() token.JWK {
	n, e := k.PublicJWK()
	return token.JWK{KeyType: "RSA", N: n, E: e, KeyID: k.kid, Use: "sig", Algorithm: "RS256"}
}
