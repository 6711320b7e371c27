package realparts

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// PushWorkerImage builds the worker's image with cmd/worker-image (no Docker engine) and pushes it
// over plain HTTP to repository, a loopback registry; it returns the reference by digest that the
// command prints.
func PushWorkerImage(t testing.TB, repository string) string {
	t.Helper()
	cmd := exec.Command(Binary(t, "worker-image"), "-repository", repository, "-insecure")
	cmd.Dir = Root()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("worker-image -repository %s: %v\n%s", repository, err, stderr.String())
	}
	ref := strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(ref, repository+"@sha256:") {
		t.Fatalf("worker-image printed %q, want %s@sha256:…\n%s", ref, repository, stderr.String())
	}
	t.Logf("%s", strings.TrimSpace(stderr.String()))
	return ref
}
