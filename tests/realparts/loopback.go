package realparts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/harness"
)

// LoopbackHarness is the harness process (cmd/loopback-harness) playing the local control plane's
// data plane for one namespace: it serves each Deployment's model on loopback and answers for the
// Services at URL. It outlives any worker the test kills, and dies with the test.
type LoopbackHarness struct {
	URL     string // the ingress: URL/<service>/...
	Targets string // its Prometheus file_sd file ("" when not asked for)
	Log     string
	cmd     *exec.Cmd
}

// HarnessOptions are the harness's optional switches.
type HarnessOptions struct {
	Targets string // write a Prometheus file_sd file here
	Faults  string // fault switches, e.g. "3/canary:TD_FAULT=error"
}

// StartLoopbackHarness starts the harness for namespace on the cluster of kubeconfig, images pulled
// over plain HTTP (the tests' registries), and waits until it serves.
func StartLoopbackHarness(t testing.TB, kubeconfig, namespace string, o HarnessOptions) *LoopbackHarness {
	t.Helper()
	dir := t.TempDir()
	h := &LoopbackHarness{Targets: o.Targets, Log: filepath.Join(dir, "harness.log")}
	urlFile := filepath.Join(dir, "url")
	f, err := os.Create(h.Log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	args := []string{"-kubeconfig", kubeconfig, "-namespace", namespace, "-url-file", urlFile, "-dir", filepath.Join(dir, "servers"),
		"-bentoml", VenvBin("bentoml"), "-insecure"}
	if o.Targets != "" {
		args = append(args, "-targets", o.Targets)
	}
	if o.Faults != "" {
		args = append(args, "-faults", o.Faults)
	}
	h.cmd = exec.Command(Binary(t, "loopback-harness"), args...)
	h.cmd.Dir, h.cmd.Stdout, h.cmd.Stderr = Root(), f, f
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := harness.StartTied(h.cmd); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = h.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = h.cmd.Process.Signal(syscall.SIGTERM) // it stops its model servers
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			harness.StopTree(h.cmd.Process.Pid, 0)
		}
		if t.Failed() {
			t.Logf("loopback harness log:\n%s", Tail(h.Log, 4000))
		}
	})
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("loopback harness exited:\n%s", Tail(h.Log, 2000))
		default:
		}
		if b, err := os.ReadFile(urlFile); err == nil {
			h.URL = strings.TrimSpace(string(b))
			return h
		}
	}
	t.Fatalf("loopback harness did not serve within a minute:\n%s", Tail(h.Log, 2000))
	return nil
}

// WorkerEnv is what a worker needs to find the workloads through the harness. A model server can
// take a while to start on a busy machine, so a probe attempt may wait up to a minute for it.
func (h *LoopbackHarness) WorkerEnv() []string {
	return []string{"DEPLOYER_ENDPOINTS=ingress", "DEPLOYER_INGRESS_URL=" + h.URL, "DEPLOYER_PROBE_TIMEOUT=60s"}
}
