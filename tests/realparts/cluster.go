package realparts

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// KWOK (fake nodes whose pods become Running and Ready), built from the Go module proxy by
// infra/cluster/build.sh into .cache/cluster/bin and run by infra/cluster/cluster.sh.

const clusterComponent = "Kubernetes control plane (infra/cluster)"

// errToolchain marks what Require may skip on a developer machine: a missing tool, not a broken build.
var errToolchain = errors.New("missing toolchain")

var (
	clusterOnce sync.Once
	clusterMu   sync.Mutex
	shared      *cluster
	sharedErr   error
)

type cluster struct {
	runDir     string
	kubeconfig string
}

// StartCluster returns the kubeconfig of a real control plane. With KUBECONFIG_TEST set it returns
// that (any real cluster). Otherwise it builds the binaries if needed and starts one control plane
// per test binary, shared by every test because startup takes several seconds: tests must use
// their own namespaces. It lives in its own temp dir on free loopback ports and is stopped by
// StopCluster (call it from TestMain) or, at the latest, by its watchdog, which stops it and removes
// its directory within a second of the test binary's exit.
// A missing toolchain skips (fails under CI=true); a failed build or start fails the test.
func StartCluster(t testing.TB) (kubeconfig string) {
	t.Helper()
	if kc := os.Getenv("KUBECONFIG_TEST"); kc != "" {
		return kc
	}
	clusterOnce.Do(func() {
		dir, err := os.MkdirTemp("", "deployer-cluster-")
		if err != nil {
			sharedErr = err
			return
		}
		c, err := startCluster(t, dir, "CLUSTER_OWNER_CLEAN=1")
		if err != nil {
			_ = os.RemoveAll(dir)
			sharedErr = err
			return
		}
		clusterMu.Lock()
		shared = c
		clusterMu.Unlock()
	})
	failCluster(t, sharedErr)
	return shared.kubeconfig
}

// StartPrivateCluster starts a control plane of the test's own in t.TempDir(), stopped in
// t.Cleanup: for a test that must not share the API server (it costs a full startup).
func StartPrivateCluster(t testing.TB) (kubeconfig string) {
	t.Helper()
	return StartOwnCluster(t).Kubeconfig
}

// PrivateCluster is a control plane of a test's own, which the test may take down.
type PrivateCluster struct {
	Kubeconfig string
	runDir     string
}

// StartOwnCluster starts a control plane in t.TempDir(), stopped in t.Cleanup, for a test that
// stops part of it (it costs a full startup).
func StartOwnCluster(t testing.TB) *PrivateCluster {
	t.Helper()
	c, err := startCluster(t, t.TempDir())
	failCluster(t, err)
	t.Cleanup(func() {
		if err := stopCluster(c.runDir); err != nil {
			t.Errorf("stop cluster: %v", err)
		}
	})
	return &PrivateCluster{Kubeconfig: c.kubeconfig, runDir: c.runDir}
}

// StopAPIServer stops the kube-apiserver (SIGTERM, then SIGKILL after 10 s) and returns once it
// is gone; the rest of the control plane keeps running.
func (c *PrivateCluster) StopAPIServer(t testing.TB) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.runDir, "pids", "kube-apiserver.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Start brings a control plane that is partly down back up on its data (cluster.sh start
// restarts it; etcd keeps its state).
func (c *PrivateCluster) Start(t testing.TB) {
	t.Helper()
	if _, err := startCluster(t, c.runDir); err != nil {
		t.Fatal(err)
	}
}

// StopCluster stops the shared control plane, if one was started, and removes its directory.
// Call it from TestMain after m.Run(); it is safe to call more than once.
func StopCluster() error {
	clusterMu.Lock()
	defer clusterMu.Unlock()
	if shared == nil {
		return nil
	}
	err := stopCluster(shared.runDir)
	if err == nil {
		err = os.RemoveAll(shared.runDir)
	}
	shared = nil
	return err
}

// ClusterLogs returns the last lines of a component's log in the shared control plane (for failure
// messages); component is etcd, kube-apiserver, kube-controller-manager, kube-scheduler or kwok.
func ClusterLogs(component string, lines int) string {
	clusterMu.Lock()
	defer clusterMu.Unlock()
	if shared == nil {
		return ""
	}
	return Tail(filepath.Join(shared.runDir, "logs", component+".log"), lines)
}

func failCluster(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, errToolchain) {
		Require(t, clusterComponent, err)
	} else if err != nil {
		t.Fatalf("%s: %v", clusterComponent, err)
	}
}

// BuildCluster runs infra/cluster/build.sh: a no-op when the binaries are current, ~20 min cold.
func BuildCluster(t testing.TB) error {
	t.Helper()
	for _, tool := range []string{"go", "bash", "openssl", "curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w: %s is not on PATH", errToolchain, tool)
		}
	}
	start := time.Now()
	cmd := exec.Command("bash", filepath.Join(Root(), "infra", "cluster", "build.sh"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("infra/cluster/build.sh: %v\n%s", err, tailString(string(out), 40))
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Logf("built the control plane in %s:\n%s", d.Round(time.Second), out)
	}
	return nil
}

func startCluster(t testing.TB, dir string, env ...string) (*cluster, error) {
	if err := BuildCluster(t); err != nil {
		return nil, err
	}
	cmd := exec.Command("bash", filepath.Join(Root(), "infra", "cluster", "cluster.sh"), "start")
	cmd.Env = append(os.Environ(), "CLUSTER_RUN_DIR="+dir, "CLUSTER_OWNER_PID="+strconv.Itoa(os.Getpid()))
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		if strings.Contains(stderr.String(), "address already in use") && retryPorts(dir) {
			t.Logf("a free port was taken before the control plane bound it; retrying with new ports")
			return startCluster(t, dir, env...)
		}
		return nil, fmt.Errorf("cluster.sh start: %v\n%s", err, tailString(stderr.String(), 60))
	}
	lines := strings.Fields(stdout.String())
	if len(lines) == 0 {
		return nil, fmt.Errorf("cluster.sh start printed no kubeconfig path\n%s", stderr.String())
	}
	t.Logf("control plane started in %s (%s)", time.Since(start).Round(100*time.Millisecond), dir)
	return &cluster{runDir: dir, kubeconfig: lines[len(lines)-1]}, nil
}

func stopCluster(dir string) error {
	cmd := exec.Command("bash", filepath.Join(Root(), "infra", "cluster", "cluster.sh"), "stop")
	cmd.Env = append(os.Environ(), "CLUSTER_RUN_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cluster.sh stop: %v\n%s", err, out)
	}
	return nil
}

// retryPorts forgets the ports a failed start picked, so cluster.sh picks new ones; once per dir.
func retryPorts(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, ".ports-retried")); err == nil {
		return false
	}
	_ = os.WriteFile(filepath.Join(dir, ".ports-retried"), nil, 0o644)
	_ = os.RemoveAll(filepath.Join(dir, "etcd")) // its member record holds the old peer port
	return os.Remove(filepath.Join(dir, "ports.env")) == nil
}
