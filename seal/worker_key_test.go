package seal

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ledger")
	keyPath := filepath.Join(dir, "worker.jwk")
	ringPath := KeyringPath(keyPath)
	k1, created, err := LoadOrCreateKey(keyPath, ringPath)
	if err != nil || !created {
		t.Fatalf("first start: created %v, %v", created, err)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v: want mode 0600", fi, err)
	}
	again, created, err := LoadOrCreateKey(keyPath, ringPath)
	if err != nil || created || again.KeyID() != k1.KeyID() {
		t.Fatalf("second start: %v created %v, %v; want the same key read back", again.KeyID(), created, err)
	}
	if err := os.Remove(keyPath); err != nil { // the key is lost: a new one, the old one still verifies
		t.Fatal(err)
	}
	k2, created, err := LoadOrCreateKey(keyPath, ringPath)
	if err != nil || !created || k2.KeyID() == k1.KeyID() {
		t.Fatalf("after losing the key: %v created %v, %v", k2.KeyID(), created, err)
	}
	kr, err := ReadKeyring(ringPath)
	if err != nil || kr.Len() != 2 {
		t.Fatalf("keyring %v, %v: want both keys", kr.Keys(), err)
	}
	if err := os.WriteFile(keyPath+"x", []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKey(keyPath+"x", ringPath); err == nil {
		t.Fatal("a malformed key file was accepted")
	}
}
