package realparts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/harness"
)

// MLflowStartTimeout bounds how long StartMLflow waits for the server to answer; a cold first
// start (database migrations, Python imports) takes 10-30 s.
const MLflowStartTimeout = 90 * time.Second

// LoggedModel is a scikit-learn model logged to an MLflow server by LogSklearnModel.
type LoggedModel struct {
	ModelURI         string `json:"model_uri"`          // models:/m-<id>, MLflow 3's logged-model URI
	ModelID          string `json:"model_id"`           // m-<id>
	ModelName        string `json:"model_name"`         // the name given to log_model ("model")
	ModelArtifactURI string `json:"model_artifact_uri"` // where the model's files are (a local path here)
	RunID            string `json:"run_id"`
	ExperimentID     string `json:"experiment_id"`
	ArtifactURI      string `json:"artifact_uri"` // the run's artifact root
	// LegacyArtifactPath holds the same model saved as plain run artifacts, the MLflow 2 way
	// (runs:/<run_id>/<LegacyArtifactPath> has an MLmodel file).
	LegacyArtifactPath string `json:"legacy_artifact_path"`
}

// RunsURI returns the runs:/<run_id>/<name> form of the model's URI.
func (m LoggedModel) RunsURI() string { return "runs:/" + m.RunID + "/" + m.ModelName }

// StartMLflow starts a throwaway `mlflow server` (SQLite backend, artifacts under a temp dir) on
// a free port of 127.0.0.1 and returns its base URL. The server's process group is stopped when
// the test ends. The server log is kept in the test's temp dir; its tail is logged if the test
// fails, whether at start-up or later.
func StartMLflow(t testing.TB) string { return StartMLflowServer(t).URL }

// MLflowServer is a running `mlflow server` that can be stopped and started again on its port
// and database (an outage).
type MLflowServer struct {
	URL     string
	bin     string
	dir     string
	port    int
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	args    []string // more server arguments (the basic-auth app)
	env     []string // more environment
}

// StartMLflowServer is StartMLflow, returning the server.
func StartMLflowServer(t testing.TB) *MLflowServer {
	t.Helper()
	return startMLflowServer(t, nil)
}

// MLflowBasicAuthUser is the admin of the server StartMLflowBasicAuth starts.
const MLflowBasicAuthUser = "admin"

// StartMLflowBasicAuth starts a throwaway `mlflow server --app-name basic-auth` (MLflow's own
// authentication: its auth extra, Flask-WTF, comes from `make bootstrap`), whose admin is
// MLflowBasicAuthUser with the returned password. Every API call needs the credentials; /health
// does not.
func StartMLflowBasicAuth(t testing.TB) (*MLflowServer, string) {
	t.Helper()
	password := "td-Admin-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	s := startMLflowServer(t, func(m *MLflowServer) {
		ini := filepath.Join(m.dir, "basic_auth.ini")
		conf := "[mlflow]\ndefault_permission = NO_PERMISSIONS\ndatabase_uri = sqlite:///" + filepath.Join(m.dir, "auth.db") +
			"\nadmin_username = " + MLflowBasicAuthUser + "\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
		if err := os.WriteFile(ini, []byte(conf), 0o600); err != nil {
			t.Fatalf("mlflow: auth config: %v", err)
		}
		m.args = []string{"--app-name", "basic-auth"}
		m.env = []string{"MLFLOW_AUTH_CONFIG_PATH=" + ini, "MLFLOW_AUTH_ADMIN_PASSWORD=" + password,
			"MLFLOW_FLASK_SERVER_SECRET_KEY=td-csrf-" + password} // the app refuses to start without one
	})
	return s, password
}

func startMLflowServer(t testing.TB, configure func(*MLflowServer)) *MLflowServer {
	t.Helper()
	bin := VenvBin("mlflow")
	_, err := os.Stat(bin)
	Require(t, "mlflow", err)
	port, err := freePort()
	if err != nil {
		t.Fatalf("mlflow: pick a port: %v", err)
	}
	m := &MLflowServer{URL: "http://127.0.0.1:" + strconv.Itoa(port), bin: bin, dir: t.TempDir(), port: port}
	if configure != nil {
		configure(m)
	}
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() {
			t.Logf("--- %s (tail) ---\n%s", m.logPath(), Tail(m.logPath(), 40))
		}
	})
	m.Start(t)
	return m
}

func (m *MLflowServer) logPath() string { return filepath.Join(m.dir, "mlflow.log") }

// Start starts the server (again) and waits until it answers.
func (m *MLflowServer) Start(t testing.TB) {
	t.Helper()
	logFile, err := os.OpenFile(m.logPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("mlflow: create log: %v", err)
	}
	cmd := exec.Command(m.bin, append([]string{"server",
		"--backend-store-uri", "sqlite:///" + filepath.Join(m.dir, "mlflow.db"),
		"--default-artifact-root", filepath.Join(m.dir, "artifacts"),
		"--host", "127.0.0.1", "--port", strconv.Itoa(m.port), "--workers", "1"}, m.args...)...)
	cmd.Dir = m.dir
	cmd.Env = append(os.Environ(),
		// The job runner starts six huey consumer processes and leaves a temp dir in /dev/shm;
		// the registry tests need neither.
		"MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false",
		"MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true", "PYTHONUNBUFFERED=1")
	cmd.Env = append(cmd.Env, m.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := harness.StartTied(cmd); err != nil { // a killed test binary leaves no MLflow behind
		logFile.Close()
		t.Fatalf("mlflow: start %s: %v", m.bin, err)
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) { m.waitErr = cmd.Wait(); logFile.Close(); close(exited) }(m.exited)
	if err := waitHealthy(m.URL, m.exited, MLflowStartTimeout); err != nil {
		if errors.Is(err, errExited) {
			err = fmt.Errorf("%w: %v", err, m.waitErr)
		}
		t.Fatalf("mlflow server did not come up: %v\n--- %s (tail) ---\n%s", err, m.logPath(), Tail(m.logPath(), 40))
	}
}

// Stop stops the server's process group (a no-op when it is not running).
func (m *MLflowServer) Stop() {
	if m.cmd != nil {
		stopGroup(m.cmd.Process.Pid, m.exited)
		m.cmd = nil
	}
}

// LogSklearnModel trains a tiny LogisticRegression and logs it with mlflow.sklearn.log_model to
// the server at baseURL, in the named experiment (created if missing), using the venv's Python.
func LogSklearnModel(t testing.TB, baseURL, experimentName string) LoggedModel {
	t.Helper()
	return logSklearnModel(t, baseURL, experimentName)
}

// LogSklearnModelWithoutEvidence logs the same model with no test-result tags and no model card
// (TD_LOG_EVIDENCE=none), as a training job that skipped them would.
func LogSklearnModelWithoutEvidence(t testing.TB, baseURL, experimentName string) LoggedModel {
	t.Helper()
	return logSklearnModel(t, baseURL, experimentName, "TD_LOG_EVIDENCE=none")
}

// LogSklearnModelWithEnv is LogSklearnModel with more environment for the logging script (MLflow
// credentials: MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD).
func LogSklearnModelWithEnv(t testing.TB, baseURL, experimentName string, env ...string) LoggedModel {
	t.Helper()
	return logSklearnModel(t, baseURL, experimentName, env...)
}

func logSklearnModel(t testing.TB, baseURL, experimentName string, env ...string) LoggedModel {
	t.Helper()
	python := VenvBin("python")
	_, err := os.Stat(python)
	Require(t, "venv python", err)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	script := filepath.Join(Root(), "tests", "realparts", "log_model.py")
	cmd := exec.CommandContext(ctx, python, script, experimentName)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "MLFLOW_TRACKING_URI="+baseURL,
		"MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true", "PYTHONUNBUFFERED=1")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("log sklearn model: %v\n--- stderr (tail) ---\n%s", err, tailString(stderr.String(), 40))
	}
	model, err := parseLoggedModel(stdout.String())
	if err != nil {
		t.Fatalf("log sklearn model: %v\n--- stdout ---\n%s", err, stdout.String())
	}
	return model
}

// parseLoggedModel reads the JSON object the script prints as its last line.
func parseLoggedModel(stdout string) (LoggedModel, error) {
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	var m LoggedModel
	if err := json.Unmarshal([]byte(last), &m); err != nil {
		return m, fmt.Errorf("parse script output %q: %w", last, err)
	}
	if m.ModelURI == "" || m.RunID == "" {
		return m, fmt.Errorf("script output lacks model_uri or run_id: %q", last)
	}
	return m, nil
}

// Tail returns the last n lines of a file (or a note saying why it could not be read).
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	return tailString(string(b), n)
}

func tailString(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePort is a TCP port free on 127.0.0.1 now.
func FreePort() (int, error) { return freePort() }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var errExited = errors.New("process exited early")

// waitHealthy polls /health until it answers 200, the process exits, or the timeout passes.
func waitHealthy(baseURL string, exited <-chan struct{}, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	var last error = errors.New("no answer yet")
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errExited
		case <-time.After(250 * time.Millisecond):
		}
		resp, err := client.Get(baseURL + "/health")
		if err != nil {
			last = err
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Errorf("GET /health: HTTP %d", resp.StatusCode)
	}
	return fmt.Errorf("not healthy after %s: %v", timeout, last)
}

// stopGroup kills the server's process group (the mlflow CLI, uvicorn and its workers) and waits
// briefly for it to go, so nothing writes into the temp dir while it is removed. SIGKILL outright:
// the data is throwaway, and a graceful SIGTERM shutdown takes ~5 s.
func stopGroup(pid int, exited <-chan struct{}) {
	// Servers' workers may run in sessions of their own (bentoml's do): stop the whole tree first.
	harness.StopTree(pid, 5*time.Second)
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	deadline := time.After(5 * time.Second)
	select {
	case <-exited:
	case <-deadline:
		return
	}
	for syscall.Kill(-pid, 0) == nil {
		select {
		case <-deadline:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}
