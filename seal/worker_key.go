package seal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeyringPath is where the public keyring of the signing key at keyPath is kept by default.
func KeyringPath(keyPath string) string { return keyPath + ".pub.json" }

// LoadOrCreateKey reads the worker's signing key at keyPath or, when there is none, generates one
// (its kid the key's thumbprint) and writes it there (0600, in a 0700 directory). Either way the
// keyring file at keyringPath ends up holding the key's public half, beside any keys it already
// held (older keys keep verifying the entries they signed). created says whether the key is new.
func LoadOrCreateKey(keyPath, keyringPath string) (k *PrivateKey, created bool, err error) {
	k, err = ReadKey(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		if k, err = GenerateKey(""); err != nil {
			return nil, false, err
		}
		if err := os.MkdirAll(filepath.Dir(keyPath), 0o700); err != nil {
			return nil, false, fmt.Errorf("ledger key: %w", err)
		}
		switch err := WriteKey(keyPath, k); {
		case errors.Is(err, fs.ErrExist): // another worker created it first: use theirs
			if k, err = ReadKey(keyPath); err != nil {
				return nil, false, fmt.Errorf("ledger key %s: %w", keyPath, err)
			}
		case err != nil:
			return nil, false, err
		default:
			created = true
		}
	} else if err != nil {
		return nil, false, fmt.Errorf("ledger key %s: %w", keyPath, err)
	}
	kr, err := ReadKeyring(keyringPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		kr = Keyring{}
	case err != nil:
		return nil, false, err
	}
	if _, ok := kr.Lookup(k.KeyID()); ok {
		return k, created, nil
	}
	if kr, err = kr.With(k.Public()); err != nil {
		return nil, false, fmt.Errorf("keyring %s: %w", keyringPath, err)
	}
	if err := WriteKeyring(keyringPath, kr); err != nil {
		return nil, false, err
	}
	return k, created, nil
}
