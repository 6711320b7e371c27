package realparts

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// DistributionRegistry is CNCF distribution's registry (the demo's, infra/scripts/registry.sh) of a
// test's own: filesystem storage in a temp dir, on a free loopback port kept across a restart, so
// the image references it handed out stay valid. Tests that are not about a registry's persistence
// may use go-containerregistry's in-process registry instead (faster; manifests in memory).
type DistributionRegistry struct {
	Host string // 127.0.0.1:<port>, what image references name
	Dir  string // config.yml, storage/, registry.log
	port int
}

// StartDistributionRegistry builds the pinned registry if it is missing (registry.sh install: from
// the Go module proxy, ~2 min cold, then cached in .cache/registry), starts it and stops it when
// the test ends. A failed build skips the test, or fails it under CI.
func StartDistributionRegistry(t testing.TB) *DistributionRegistry {
	t.Helper()
	if out, err := registryScript("install"); err != nil {
		Require(t, "CNCF distribution registry (infra/scripts/registry.sh install)", fmt.Errorf("%v\n%s", err, out))
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	r := &DistributionRegistry{Host: "127.0.0.1:" + strconv.Itoa(port), Dir: t.TempDir(), port: port}
	t.Cleanup(func() {
		r.Stop(t)
		if t.Failed() {
			t.Logf("--- registry.log (tail) ---\n%s", Tail(filepath.Join(r.Dir, "registry.log"), 30))
		}
	})
	reapWithTest(t, r.Dir+"/config.yml")
	r.Start(t)
	return r
}

// Start starts the registry (again) on its port and storage, and waits until /v2/ answers.
func (r *DistributionRegistry) Start(t testing.TB) {
	t.Helper()
	if out, err := registryScript("start", r.Dir, strconv.Itoa(r.port)); err != nil {
		t.Fatalf("start the registry: %v\n%s\n%s", err, out, Tail(filepath.Join(r.Dir, "registry.log"), 20))
	}
}

// Stop stops the registry; its storage stays.
func (r *DistributionRegistry) Stop(t testing.TB) {
	t.Helper()
	if out, err := registryScript("stop", r.Dir); err != nil {
		t.Errorf("stop the registry: %v\n%s", err, out)
	}
}

func registryScript(args ...string) ([]byte, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join(Root(), "infra", "scripts", "registry.sh")}, args...)...)
	return cmd.CombinedOutput()
}
