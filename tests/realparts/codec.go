package realparts

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/codec"
	"github.com/temporaldeployer/temporaldeployer/harness"
)

// CodecKeys is a payload keyring for a test: Path holds all its keys (the last seals), OldOnly the
// first alone (a client that missed a rotation).
type CodecKeys struct {
	Path, OldOnly string
	Newest        string // the ID of the key that seals
}

// WriteCodecKeys writes a keyring of two random AES-256 keys, "2026-06" then "2026-12".
func WriteCodecKeys(t testing.TB) CodecKeys {
	t.Helper()
	dir := t.TempDir()
	var keys []codec.Key
	for _, id := range []string{"2026-06", "2026-12"} {
		k := codec.Key{ID: id, Secret: make([]byte, codec.KeySize)}
		if _, err := rand.Read(k.Secret); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	ck := CodecKeys{Path: filepath.Join(dir, "codec.json"), OldOnly: filepath.Join(dir, "codec-old.json"), Newest: "2026-12"}
	for path, ks := range map[string][]codec.Key{ck.Path: keys, ck.OldOnly: keys[:1]} {
		b, err := codec.MarshalKeyring(ks...)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ck
}

// StartCodecServer runs cmd/codec-server with keyring on a free loopback port, letting the
// browser origins in, with token ("" for none); it returns the server's URL once it answers.
func StartCodecServer(t testing.TB, keyring, token string, origins ...string) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command(Binary(t, "codec-server"))
	cmd.Env = append(os.Environ(), "DEPLOYER_CODEC_KEYS="+keyring, fmt.Sprintf("DEPLOYER_CODEC_ADDR=127.0.0.1:%d", port),
		"DEPLOYER_CODEC_TOKEN="+token, "DEPLOYER_CODEC_ORIGINS="+strings.Join(origins, ","))
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := harness.StartTied(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("codec server log:\n%s", log.String())
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			return url
		}
	}
	t.Fatalf("codec server on %s never answered:\n%s", url, log.String())
	return ""
}
