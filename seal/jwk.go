package seal

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Key files are JWK (RFC 7517, RFC 8037): an Ed25519 key is {"kty":"OKP","crv":"Ed25519",
// "kid":...,"alg":"EdDSA","use":"sig","x":<public key>} with "d":<seed> in a private key file;
// x and d are unpadded base64url. A keyring file is a JWK Set: {"keys":[<public JWK>, ...]}.

// jwk is an Ed25519 JWK.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Kid string `json:"kid"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
	X   string `json:"x"`
	D   string `json:"d,omitempty"`
}

// jwkSet is a JWK Set.
type jwkSet struct {
	Keys []json.RawMessage `json:"keys"`
}

// The JWK members a key may have; privateMembers carry private material of some key type.
var (
	publicMembers  = []string{"alg", "crv", "kid", "kty", "use", "x"}
	privateMembers = []string{"d", "dp", "dq", "k", "oth", "p", "priv", "q", "qi"}
)

var b64 = base64.RawURLEncoding.Strict()

// WriteKey writes k as a private JWK to a new file at path, mode 0600; it never overwrites a file.
func WriteKey(path string, k *PrivateKey) error {
	if k == nil {
		return errors.New("write key: no key")
	}
	pub := k.Public()
	data, err := json.MarshalIndent(jwk{Kty: "OKP", Crv: "Ed25519", Kid: k.kid, Alg: AlgEdDSA, Use: "sig",
		X: b64.EncodeToString(pub.Key), D: b64.EncodeToString(k.key.Seed())}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode key %q: %w", k.kid, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write key %q: %w", k.kid, err)
	}
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write key %q to %s: %w", k.kid, path, err)
	}
	return nil
}

// ReadKey reads a private signing key from a JWK file (as WriteKey writes it). The public key x
// must be the one the seed d derives.
func ReadKey(path string) (*PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	k, err := parseJWK(data, true)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	seed, err := b64.DecodeString(k.D)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("key %s: d is not an unpadded base64url Ed25519 seed (%d bytes)", path, ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if b64.EncodeToString(priv[ed25519.SeedSize:]) != k.X {
		return nil, fmt.Errorf("key %s: x is not the public key of d", path)
	}
	return NewPrivateKey(k.Kid, priv)
}

// ParseKeyring reads a JWK Set of public Ed25519 keys. A key with private material, another key
// type, an alg other than EdDSA, a use other than "sig", a member a public Ed25519 JWK does not
// have, no kid, a kid given twice, or no key at all is an error.
func ParseKeyring(data []byte) (Keyring, error) {
	var set jwkSet
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&set); err != nil {
		return Keyring{}, fmt.Errorf("keyring: want a JWK Set {\"keys\": [...]}: %w", err)
	}
	if dec.More() {
		return Keyring{}, errors.New("keyring: data after the JWK Set")
	}
	if len(set.Keys) == 0 {
		return Keyring{}, errors.New("keyring: no keys")
	}
	keys := make([]PublicKey, 0, len(set.Keys))
	for i, raw := range set.Keys {
		k, err := parseJWK(raw, false)
		if err != nil {
			return Keyring{}, fmt.Errorf("keyring: keys[%d]: %w", i, err)
		}
		x, err := b64.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return Keyring{}, fmt.Errorf("keyring: key %q: x is not an unpadded base64url Ed25519 public key", k.Kid)
		}
		keys = append(keys, PublicKey{KeyID: k.Kid, Key: x})
	}
	return NewKeyring(keys...)
}

// ReadKeyring reads a keyring file (see ParseKeyring).
func ReadKeyring(path string) (Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Keyring{}, fmt.Errorf("read keyring: %w", err)
	}
	kr, err := ParseKeyring(data)
	if err != nil {
		return Keyring{}, fmt.Errorf("%s: %w", path, err)
	}
	return kr, nil
}

// MarshalKeyring encodes kr as a JWK Set, keys ordered by kid.
func MarshalKeyring(kr Keyring) ([]byte, error) {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range kr.Keys() {
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", Kid: k.KeyID, Alg: AlgEdDSA, Use: "sig",
			X: b64.EncodeToString(k.Key)})
	}
	data, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode keyring: %w", err)
	}
	return append(data, '\n'), nil
}

// WriteKeyring writes kr as a JWK Set to path, mode 0644, replacing the file atomically.
func WriteKeyring(path string, kr Keyring) error {
	data, err := MarshalKeyring(kr)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write keyring: %w", err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write keyring %s: %w", path, err)
	}
	return nil
}

// parseJWK reads one Ed25519 JWK; with private, it must carry d, without, it must not.
func parseJWK(raw []byte, private bool) (jwk, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return jwk{}, fmt.Errorf("want a JWK object: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(members)) {
		switch {
		case slices.Contains(publicMembers, name), private && name == "d":
		case slices.Contains(privateMembers, name):
			return jwk{}, fmt.Errorf("private key material (member %q): a keyring takes public keys only", name)
		default:
			return jwk{}, fmt.Errorf("unsupported JWK member %q (an Ed25519 key has %s)", name, strings.Join(publicMembers, ", "))
		}
	}
	var k jwk
	if err := json.Unmarshal(raw, &k); err != nil {
		return jwk{}, fmt.Errorf("invalid JWK: %w", err)
	}
	switch {
	case k.Kty != "OKP" || k.Crv != "Ed25519":
		return jwk{}, fmt.Errorf("key %q: kty %q crv %q, want OKP Ed25519", k.Kid, k.Kty, k.Crv)
	case k.Alg != "" && k.Alg != AlgEdDSA:
		return jwk{}, fmt.Errorf("key %q: alg %q, want %s", k.Kid, k.Alg, AlgEdDSA)
	case k.Use != "" && k.Use != "sig":
		return jwk{}, fmt.Errorf("key %q: use %q, want \"sig\"", k.Kid, k.Use)
	case k.Kid == "":
		return jwk{}, errors.New("kid: required")
	case private && k.D == "":
		return jwk{}, fmt.Errorf("key %q: not a private key (no d)", k.Kid)
	}
	return k, nil
}
