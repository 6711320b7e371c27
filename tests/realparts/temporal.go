package realparts

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/harness"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// Temporal is a running dev server.
type Temporal struct {
	Address string
	UI      string // the Web UI's base URL (http://127.0.0.1:<port>), when started with one
	Client  client.Client
	// Namespace the CLI speaks to ("" for default); Client's namespace should be the same.
	Namespace string
	srv       *testsuite.DevServer
	opts      testsuite.DevServerOptions
}

// StartTemporal starts the Temporal CLI's dev server (from the project venv) with the contract's
// search attributes, in memory, stopped when the test ends.
func StartTemporal(t testing.TB) *Temporal { return startTemporal(t, "", nil) }

// StartTemporalWithNamespaces is StartTemporal with more namespaces, made at start with the
// contract's search attributes (as an operator creates them beforehand on Temporal Cloud).
func StartTemporalWithNamespaces(t testing.TB, namespaces ...string) *Temporal {
	return startTemporal(t, "", nil, namespaces...)
}

// StartTemporalWithUI is StartTemporal with the Web UI on uiPort, its remote codec endpoint set
// to codecEndpoint (the UI's browser asks it to decode payloads).
func StartTemporalWithUI(t testing.TB, uiPort int, codecEndpoint string) *Temporal {
	return startTemporal(t, "", &webUI{port: uiPort, codec: codecEndpoint})
}

// webUI is how the dev server serves its Web UI.
type webUI struct {
	port  int
	codec string
}

// StartDurableTemporal is StartTemporal keeping its state in a database file, so that Restart
// brings back every run.
func StartDurableTemporal(t testing.TB) *Temporal {
	return startTemporal(t, filepath.Join(t.TempDir(), "temporal.db"), nil)
}

func startTemporal(t testing.TB, dbFile string, ui *webUI, namespaces ...string) *Temporal {
	t.Helper()
	bin := VenvBin("temporal")
	_, err := os.Stat(bin)
	Require(t, "temporal CLI", err)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	sa := temporal.NewSearchAttributes(contract.SADeploymentName.ValueSet(""), contract.SAModelVersion.ValueSet(""),
		contract.SATargetEnvironment.ValueSet(""), contract.SADeploymentStage.ValueSet(""))
	tp := &Temporal{opts: testsuite.DevServerOptions{
		ExistingPath: bin,
		ClientOptions: &client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", port),
			Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))},
		SearchAttributes: sa,
		DBFilename:       dbFile,
		LogLevel:         "error",
		Stdout:           io.Discard, Stderr: io.Discard,
	}}
	for _, ns := range namespaces {
		tp.opts.ExtraArgs = append(tp.opts.ExtraArgs, "--namespace", ns)
	}
	if ui != nil {
		tp.opts.EnableUI, tp.opts.UIPort = true, fmt.Sprint(ui.port)
		tp.opts.ExtraArgs = append(tp.opts.ExtraArgs, "--ui-codec-endpoint", ui.codec, "--ui-disable-news-fetch")
		tp.UI = fmt.Sprintf("http://127.0.0.1:%d", ui.port)
	}
	tp.start(t)
	t.Cleanup(func() { _ = tp.srv.Stop() })
	reapWithTest(t, fmt.Sprintf("start-dev --ip 127.0.0.1 --port %d ", port)) // also after a Restart: same port
	return tp
}

func (tp *Temporal) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, tp.opts)
	if err != nil {
		t.Fatalf("start temporal dev server: %v", err)
	}
	tp.srv, tp.Address, tp.Client = srv, srv.FrontendHostPort(), srv.Client()
}

// Restart stops the dev server, waits down for a while, and starts it again on the same port
// (and database file, if it has one).
func (tp *Temporal) Restart(t testing.TB, down time.Duration) {
	t.Helper()
	if err := tp.srv.Stop(); err != nil {
		t.Fatalf("stop temporal dev server: %v", err)
	}
	time.Sleep(down)
	tp.start(t)
}

// Status asks a run for its status query.
func (tp *Temporal) Status(ctx context.Context, id string) (contract.Status, error) {
	var st contract.Status
	v, err := tp.Client.QueryWorkflow(ctx, id, "", contract.QueryStatus)
	if err == nil {
		err = v.Get(&st)
	}
	return st, err
}

// AwaitStatus asks a run for its status until it waits for what, or ctx ends (then the error
// names the last status seen).
func (tp *Temporal) AwaitStatus(ctx context.Context, id, what string) (contract.Status, error) {
	for {
		st, err := tp.Status(ctx, id)
		if err == nil && st.WaitingFor == what {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("%s never waited for %s; last status %+v (%v)", id, what, st, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// CLI runs the temporal CLI against the server and returns its combined output.
func (tp *Temporal) CLI(t testing.TB, args ...string) string {
	t.Helper()
	full := append(args, "--address", tp.Address)
	if tp.Namespace != "" {
		full = append(full, "--namespace", tp.Namespace)
	}
	out, err := exec.Command(VenvBin("temporal"), full...).CombinedOutput()
	if err != nil {
		t.Fatalf("temporal %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// binaries builds each of the project's commands once per test binary.
var binaries = struct {
	sync.Mutex
	built map[string]string
}{built: map[string]string{}}

// Binary builds ./cmd/<name> once per test binary and returns its path.
func Binary(t testing.TB, name string) string {
	t.Helper()
	binaries.Lock()
	defer binaries.Unlock()
	if bin, ok := binaries.built[name]; ok {
		return bin
	}
	dir, err := os.MkdirTemp("", "deployer-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/"+name)
	cmd.Dir = Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, out)
	}
	binaries.built[name] = bin
	return bin
}

// RemoveBinaries deletes what Binary built (some 230 MB a test binary); call it when no process
// started from them runs any more (TestMain, after the tests).
func RemoveBinaries() {
	binaries.Lock()
	defer binaries.Unlock()
	for name, bin := range binaries.built {
		_ = os.RemoveAll(filepath.Dir(bin))
		delete(binaries.built, name)
	}
}

// WorkerBinary builds cmd/worker once per test binary.
func WorkerBinary(t testing.TB) string { return Binary(t, "worker") }

// Worker is a worker process.
type Worker struct {
	cmd *exec.Cmd
	Log string
	t   testing.TB
}

// StartWorker runs the worker binary with env (KEY=VALUE) added to this process's environment.
func StartWorker(t testing.TB, env ...string) *Worker {
	t.Helper()
	bin := WorkerBinary(t)
	logPath := filepath.Join(t.TempDir(), "worker.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Dir = Root() // relative defaults (.cache/venv, infra/bento) are the repository's, as for `make worker`
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := harness.StartTied(cmd); err != nil { // a killed test binary leaves no worker (nor its model servers)
		t.Fatal(err)
	}
	w := &Worker{cmd: cmd, Log: logPath, t: t}
	t.Cleanup(func() {
		w.Kill()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("worker log:\n%s", tail(string(b), 4000))
		}
	})
	return w
}

// Kill stops the worker at once, as a crash would, and with it what it started (the loopback
// harness's model servers, which would otherwise outlive the test).
func (w *Worker) Kill() {
	if w.cmd.ProcessState != nil {
		return
	}
	harness.StopTree(w.cmd.Process.Pid, 0)
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	_ = w.cmd.Wait()
}

// Pid is the worker process's ID: the first part of the identity it gives Temporal (pid@host@).
func (w *Worker) Pid() int { return w.cmd.Process.Pid }

// Exited waits up to timeout for the worker to exit on its own and returns its exit code; ok is
// false when it still runs.
func (w *Worker) Exited(timeout time.Duration) (code int, ok bool) {
	done := make(chan struct{})
	go func() { _ = w.cmd.Wait(); close(done) }()
	select {
	case <-done:
		return w.cmd.ProcessState.ExitCode(), true
	case <-time.After(timeout):
		return 0, false
	}
}

// Stop sends SIGTERM and waits for a graceful exit; it reports whether the exit code was 0.
func (w *Worker) Stop() (bool, error) {
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return false, err
	}
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case err := <-done:
		return err == nil, nil
	case <-time.After(30 * time.Second):
		w.Kill()
		return false, fmt.Errorf("worker did not stop within 30s of SIGTERM")
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
