package seal

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// AlgEdDSA is the one signature algorithm a seal uses: Ed25519, named as in JOSE (RFC 8037).
const AlgEdDSA = "EdDSA"

// Signer signs the hash of each ledger entry: the worker holds one.
type Signer interface {
	// KeyID is the key's kid, recorded with each entry it signs.
	KeyID() string
	// Algorithm is the signature algorithm, recorded with each entry (AlgEdDSA).
	Algorithm() string
	// Sign signs a 32-byte entry hash.
	Sign(hash []byte) []byte
}

var _ Signer = (*PrivateKey)(nil)

// PrivateKey is an Ed25519 signing key with its key ID. Its String and GoString name the key
// without its material, so it may be logged.
type PrivateKey struct {
	kid string
	key ed25519.PrivateKey
}

// NewPrivateKey wraps an Ed25519 private key with its key ID, which must not be empty.
func NewPrivateKey(kid string, key ed25519.PrivateKey) (*PrivateKey, error) {
	if kid == "" {
		return nil, errors.New("signing key: kid must not be empty")
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("signing key %q: %d bytes, want an Ed25519 private key (%d)", kid, len(key), ed25519.PrivateKeySize)
	}
	return &PrivateKey{kid: kid, key: key}, nil
}

// GenerateKey makes a new Ed25519 signing key with crypto/rand. An empty kid is replaced by the
// key's RFC 7638 JWK thumbprint, so each key gets a distinct ID.
func GenerateKey(kid string) (*PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate Ed25519 key: %w", err)
	}
	if kid == "" {
		kid = Thumbprint(pub)
	}
	return NewPrivateKey(kid, priv)
}

// Thumbprint is the RFC 7638 JWK thumbprint of an Ed25519 public key (RFC 8037 §2): the
// unpadded base64url SHA-256 of {"crv":"Ed25519","kty":"OKP","x":"<key>"}.
func Thumbprint(pub ed25519.PublicKey) string {
	doc := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(doc))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// KeyID is the key's kid.
func (k *PrivateKey) KeyID() string { return k.kid }

// Algorithm is AlgEdDSA.
func (k *PrivateKey) Algorithm() string { return AlgEdDSA }

// Sign signs hash with Ed25519.
func (k *PrivateKey) Sign(hash []byte) []byte { return ed25519.Sign(k.key, hash) }

// Public is the public half of k, with its kid.
func (k *PrivateKey) Public() PublicKey {
	return PublicKey{KeyID: k.kid, Key: ed25519.PublicKey(slices.Clone(k.key[ed25519.SeedSize:]))} // seed || public key
}

// String names the key without its material.
func (k *PrivateKey) String() string { return fmt.Sprintf("Ed25519 private key %q", k.kid) }

// GoString names the key without its material (%#v).
func (k *PrivateKey) GoString() string { return k.String() }

// PublicKey is an Ed25519 verification key with its key ID.
type PublicKey struct {
	KeyID string
	Key   ed25519.PublicKey
}

// Keyring holds the public keys that verify seals, by key ID: the current worker key and the ones
// it replaced, so entries signed before a rotation still verify. The zero Keyring is empty.
type Keyring struct {
	keys map[string]ed25519.PublicKey
}

// NewKeyring makes a keyring of keys; a key without a kid, of the wrong size, or a kid given twice
// is an error.
func NewKeyring(keys ...PublicKey) (Keyring, error) {
	kr := Keyring{keys: make(map[string]ed25519.PublicKey, len(keys))}
	for _, k := range keys {
		switch {
		case k.KeyID == "":
			return Keyring{}, errors.New("keyring: a key has no kid")
		case len(k.Key) != ed25519.PublicKeySize:
			return Keyring{}, fmt.Errorf("keyring: key %q: %d bytes, want an Ed25519 public key (%d)", k.KeyID, len(k.Key), ed25519.PublicKeySize)
		}
		if _, dup := kr.keys[k.KeyID]; dup {
			return Keyring{}, fmt.Errorf("keyring: kid %q is given twice", k.KeyID)
		}
		kr.keys[k.KeyID] = slices.Clone(k.Key)
	}
	return kr, nil
}

// With is kr with k added, for a rotation; k's kid must be new.
func (kr Keyring) With(k PublicKey) (Keyring, error) { return NewKeyring(append(kr.Keys(), k)...) }

// Lookup returns the public key with kid.
func (kr Keyring) Lookup(kid string) (ed25519.PublicKey, bool) {
	k, ok := kr.keys[kid]
	return k, ok
}

// Keys lists the keys, ordered by kid.
func (kr Keyring) Keys() []PublicKey {
	out := make([]PublicKey, 0, len(kr.keys))
	for _, kid := range slices.Sorted(maps.Keys(kr.keys)) {
		out = append(out, PublicKey{KeyID: kid, Key: slices.Clone(kr.keys[kid])})
	}
	return out
}

// Len is the number of keys.
func (kr Keyring) Len() int { return len(kr.keys) }
