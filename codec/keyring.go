// Package codec encrypts what the worker and its clients put into Temporal: every payload (inputs,
// results, signals, updates, markers, failure details) is sealed with AES-256-GCM under a key of a
// keyring before it leaves the process, and opened when it comes back. The key's ID travels in the
// payload's metadata, so keys rotate: the newest key seals, every key in the keyring opens. A
// payload sealed under a key the keyring does not hold fails loudly; nothing falls back to
// plaintext. The same format is spoken by the codec server (cmd/codec-server) for the Web UI and
// the temporal CLI, and by the Python approver (examples/python-approver).
package codec

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// KeySize is AES-256's key length in bytes.
const KeySize = 32

// keyID is what a key may be called: it is written, in the clear, into every payload it seals.
var keyID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Key is one named AES-256 key.
type Key struct {
	ID     string
	Secret []byte
}

// Keyring is an ordered set of keys: the last is the newest and seals; all of them open.
type Keyring struct {
	keys []Key
}

// keyringFile is the keyring's JSON form: {"keys":[{"id":"2026-12","key":"<base64 of 32 bytes>"}, …]},
// oldest first. Rotating a key appends a new one; a key is removed only once no history needs it.
type keyringFile struct {
	Keys []struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	} `json:"keys"`
}

// LoadKeyring reads a keyring file (DEPLOYER_CODEC_KEYS).
func LoadKeyring(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("codec keyring (DEPLOYER_CODEC_KEYS): %w", err)
	}
	k, err := ParseKeyring(b)
	if err != nil {
		return nil, fmt.Errorf("codec keyring %s (DEPLOYER_CODEC_KEYS): %w", path, err)
	}
	return k, nil
}

// ParseKeyring checks and decodes a keyring file's contents.
func ParseKeyring(b []byte) (*Keyring, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var f keyringFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf(`not a keyring {"keys":[{"id":…,"key":…}]}: %w`, err)
	}
	if len(f.Keys) == 0 {
		return nil, fmt.Errorf("the keyring holds no key")
	}
	ring := &Keyring{}
	seen := map[string]bool{}
	for i, k := range f.Keys {
		if !keyID.MatchString(k.ID) {
			return nil, fmt.Errorf("key %d: id %q must be 1-64 letters, digits, '.', '_' or '-'", i, k.ID)
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("key %d: id %q appears twice", i, k.ID)
		}
		seen[k.ID] = true
		secret, err := base64.StdEncoding.DecodeString(k.Key)
		if err != nil {
			return nil, fmt.Errorf("key %q: not base64: %w", k.ID, err)
		}
		if len(secret) != KeySize {
			return nil, fmt.Errorf("key %q: holds %d bytes, AES-256 needs %d", k.ID, len(secret), KeySize)
		}
		ring.keys = append(ring.keys, Key{ID: k.ID, Secret: secret})
	}
	return ring, nil
}

// NewKeyring makes a keyring of keys, oldest first.
func NewKeyring(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("the keyring holds no key")
	}
	for _, k := range keys {
		if !keyID.MatchString(k.ID) || len(k.Secret) != KeySize {
			return nil, fmt.Errorf("key %q: want an id of 1-64 letters, digits, '.', '_' or '-' and %d bytes", k.ID, KeySize)
		}
	}
	return &Keyring{keys: append([]Key(nil), keys...)}, nil
}

// MarshalKeyring writes keys in the keyring file's form.
func MarshalKeyring(keys ...Key) ([]byte, error) {
	var f keyringFile
	for _, k := range keys {
		f.Keys = append(f.Keys, struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		}{k.ID, base64.StdEncoding.EncodeToString(k.Secret)})
	}
	return json.MarshalIndent(f, "", "  ")
}

// Newest is the key that seals.
func (r *Keyring) Newest() Key { return r.keys[len(r.keys)-1] }

// Lookup finds a key by ID.
func (r *Keyring) Lookup(id string) (Key, bool) {
	for _, k := range r.keys {
		if k.ID == id {
			return k, true
		}
	}
	return Key{}, false
}

// IDs lists the keyring's key IDs, oldest first.
func (r *Keyring) IDs() []string {
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.ID
	}
	return ids
}

// AddKey appends a new random key named id to the keyring file at path, creating it (mode 0600)
// when absent: the key that seals from then on. Workers, clients and the codec server pick it up
// when they restart; until all of them have it, add it to every copy before any restart.
func AddKey(path, id string) error {
	var keys []Key
	if b, err := os.ReadFile(path); err == nil {
		ring, err := ParseKeyring(b)
		if err != nil {
			return fmt.Errorf("codec keyring %s: %w", path, err)
		}
		keys = ring.keys
	} else if !os.IsNotExist(err) {
		return fmt.Errorf("codec keyring: %w", err)
	}
	k := Key{ID: id, Secret: make([]byte, KeySize)}
	if _, err := rand.Read(k.Secret); err != nil {
		return err
	}
	if _, err := NewKeyring(append(keys, k)...); err != nil {
		return err
	}
	for _, old := range keys {
		if old.ID == id {
			return fmt.Errorf("codec keyring %s already holds a key %q", path, id)
		}
	}
	b, err := MarshalKeyring(append(keys, k)...)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("codec keyring: %w", err)
	}
	return os.Rename(tmp, path)
}
