// Package realparts starts and reaches the real components the integration tests run against:
// the Temporal dev server, MLflow, PostgreSQL. A missing component skips a test on a developer's
// machine and fails it under CI (CI=true), so a missing install step shows.
package realparts

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Require fails the test under CI and skips it elsewhere when a component is unavailable.
func Require(t testing.TB, component string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI: %v", component, err)
	}
	t.Skipf("%s unavailable (run `make bootstrap`): %v", component, err)
}

// Root returns the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// VenvBin returns the path of an executable in the project venv (.cache/venv/bin).
func VenvBin(name string) string {
	return filepath.Join(Root(), ".cache", "venv", "bin", name)
}
