package seal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// KeyringPath is where the public keyring of the signing key at keyPath is kept by default.
func KeyringPath(keyPath string) string { return keyPath + ".pub.json" }

// LoadOrCreateKey reads the worker's signing key at keyPath or, when there is none, generates one
// (its kid the key's thumbprint) and writes it there (0600, in a 0700 directory). Either way the
// keyring file at keyringPath ends up holding the key's public half, beside any keys it already
// held (older keys keep verifying the entries they signed). created says whether the key is new.
// Workers starting together agree on one key: it appears at keyPath whole or not at all.
func LoadOrCreateKey(keyPath, keyringPath string) (k *PrivateKey, created bool, err error) {
	k, err = ReadKey(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		k, created, err = createKey(keyPath)
	}
	if err != nil {
		return nil, false, fmt.Errorf("ledger key %s: %w", keyPath, err)
	}
	if err := addToKeyring(keyringPath, k.Public()); err != nil {
		return nil, false, err
	}
	return k, created, nil
}

// createKey writes a new key to a temporary file and links it to keyPath, so the key file is
// created whole; a worker that loses the race reads the winner's key.
func createKey(keyPath string) (*PrivateKey, bool, error) {
	k, err := GenerateKey("")
	if err != nil {
		return nil, false, err
	}
	dir := filepath.Dir(keyPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, err
	}
	tmpDir, err := os.MkdirTemp(dir, "."+filepath.Base(keyPath)+".")
	if err != nil {
		return nil, false, err
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "key.jwk")
	if err := WriteKey(tmp, k); err != nil {
		return nil, false, err
	}
	switch err := os.Link(tmp, keyPath); {
	case errors.Is(err, fs.ErrExist):
		k, err := ReadKey(keyPath)
		return k, false, err
	case err != nil:
		return nil, false, err
	}
	return k, true, nil
}

// addToKeyring adds pub to the keyring file unless it is there, under an exclusive lock on
// <keyring>.lock so workers adding keys together lose none.
func addToKeyring(keyringPath string, pub PublicKey) error {
	if err := os.MkdirAll(filepath.Dir(keyringPath), 0o755); err != nil {
		return fmt.Errorf("keyring %s: %w", keyringPath, err)
	}
	lock, err := os.OpenFile(keyringPath+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("keyring %s: %w", keyringPath, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("keyring %s: lock: %w", keyringPath, err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	kr, err := ReadKeyring(keyringPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		kr = Keyring{}
	case err != nil:
		return err
	}
	if _, ok := kr.Lookup(pub.KeyID); ok {
		return nil
	}
	if kr, err = kr.With(pub); err != nil {
		return fmt.Errorf("keyring %s: %w", keyringPath, err)
	}
	return WriteKeyring(keyringPath, kr)
}
