package seal

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
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

// TestLoadOrCreateKeyTogether: workers starting at once agree on one key, and workers with keys
// of their own sharing a keyring lose none of them.
func TestLoadOrCreateKeyTogether(t *testing.T) {
	dir := t.TempDir()
	keyPath, ringPath := filepath.Join(dir, "worker.jwk"), filepath.Join(dir, "shared.pub.json")
	const n = 8
	kids := make(chan string, 2*n)
	errs := make(chan error, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(2)
		go func() { // the same key file
			defer wg.Done()
			k, _, err := LoadOrCreateKey(keyPath, ringPath)
			if err != nil {
				errs <- err
				return
			}
			kids <- k.KeyID()
		}()
		go func() { // a key of its own, the shared keyring
			defer wg.Done()
			if _, _, err := LoadOrCreateKey(filepath.Join(dir, fmt.Sprintf("own-%d.jwk", i)), ringPath); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(kids)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	for kid := range kids {
		seen[kid] = true
	}
	kr, err := ReadKeyring(ringPath)
	if len(seen) != 1 || err != nil || kr.Len() != n+1 {
		t.Fatalf("%d shared keys (want 1); keyring of %d keys (want %d), %v", len(seen), kr.Len(), n+1, err)
	}
}
