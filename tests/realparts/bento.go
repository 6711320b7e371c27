package realparts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BentoStartTimeout bounds how long ServeBento waits for /readyz; a cold start (imports, loading
// the model) takes 5-20 s.
const BentoStartTimeout = 120 * time.Second

// RequireBentoML skips (or, under CI, fails) the test when the venv has no bentoml, and returns
// the venv's python, which has bentoml and mlflow.
func RequireBentoML(t testing.TB) string {
	t.Helper()
	_, err := os.Stat(VenvBin("bentoml"))
	Require(t, "bentoml", err)
	return VenvBin("python")
}

// LogModelWithoutPyfunc logs an MLflow model that has no python_function flavour (a custom flavour
// only) to the server at baseURL; ModelURI is its runs:/<run_id>/model URI.
func LogModelWithoutPyfunc(t testing.TB, baseURL, experimentName string) LoggedModel {
	t.Helper()
	python := VenvBin("python")
	_, err := os.Stat(python)
	Require(t, "venv python", err)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, filepath.Join(Root(), "tests", "realparts", "log_nopyfunc_model.py"), experimentName)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "MLFLOW_TRACKING_URI="+baseURL, "MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w\n%s", err, tailString(string(ee.Stderr), 40))
		}
		t.Fatalf("log model without pyfunc: %v", err)
	}
	m, err := parseLoggedModel(string(out))
	if err != nil {
		t.Fatalf("log model without pyfunc: %v", err)
	}
	return m
}

var importedTag = regexp.MustCompile(`Bento\(tag="([^"]+)"\)`)

// ServeBento runs `bentoml serve` on a free port of 127.0.0.1 and returns its base URL once
// /readyz answers 200. bentoTagOrPath is a .bento archive (imported into a throwaway BENTOML_HOME
// first), a built bento's directory, or a bento tag (found in BENTOML_HOME: the one in env, else
// the process's). env (KEY=VALUE) is added to the server's environment, e.g. TD_FAULT=error. The
// server's process group is killed when the test ends; its log tail is logged if the test failed.
func ServeBento(t testing.TB, bentoTagOrPath string, env ...string) string {
	t.Helper()
	bin := VenvBin("bentoml")
	_, err := os.Stat(bin)
	Require(t, "bentoml", err)
	dir := t.TempDir()
	full := append(append(os.Environ(), "BENTOML_DO_NOT_TRACK=true", "PYTHONUNBUFFERED=1"), env...)
	target := bentoTagOrPath
	if strings.HasSuffix(target, ".bento") {
		if _, err := os.Stat(target); err != nil {
			t.Fatalf("serve bento: %v", err)
		}
		abs, _ := filepath.Abs(target)
		full = append(full, "BENTOML_HOME="+filepath.Join(dir, "bentoml"))
		imp := exec.Command(bin, "import", abs)
		imp.Env, imp.Dir = full, dir
		out, err := imp.CombinedOutput()
		m := importedTag.FindSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("bentoml import %s: %v\n%s", abs, err, tailString(string(out), 40))
		}
		target = string(m[1])
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("serve bento: pick a port: %v", err)
	}
	logPath := filepath.Join(dir, "bentoml-serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", target, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Env, cmd.Dir = full, dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("bentoml serve: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
	t.Cleanup(func() {
		stopGroup(cmd.Process.Pid, exited)
		if t.Failed() {
			t.Logf("--- %s (tail) ---\n%s", logPath, Tail(logPath, 40))
		}
	})
	baseURL := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := waitReady(baseURL+"/readyz", exited, BentoStartTimeout); err != nil {
		t.Fatalf("bentoml serve %s did not become ready: %v\n--- %s (tail) ---\n%s", target, err, logPath, Tail(logPath, 40))
	}
	return baseURL
}

func waitReady(url string, exited <-chan struct{}, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	last := errors.New("no answer yet")
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errExited
		case <-time.After(250 * time.Millisecond):
		}
		resp, err := client.Get(url)
		if err != nil {
			last = err
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return fmt.Errorf("not ready after %s: %v", timeout, last)
}
