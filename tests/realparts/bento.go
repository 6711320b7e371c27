package realparts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/harness"
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

// ServeBento runs `bentoml serve` on a free port of 127.0.0.1 (harness.Serve) and returns its base
// URL once /readyz answers 200. bentoTagOrPath is a .bento archive (imported into a throwaway
// BENTOML_HOME first), a built bento's directory, or a bento tag (found in BENTOML_HOME: the one in
// env, else the process's). env (KEY=VALUE) is added to the server's environment, e.g.
// TD_FAULT=error. The server and its workers are stopped when the test ends; its log tail is
// logged if the test failed.
func ServeBento(t testing.TB, bentoTagOrPath string, env ...string) string {
	t.Helper()
	bin := VenvBin("bentoml")
	_, err := os.Stat(bin)
	Require(t, "bentoml", err)
	if strings.HasSuffix(bentoTagOrPath, ".bento") {
		if _, err := os.Stat(bentoTagOrPath); err != nil {
			t.Fatalf("serve bento: %v", err)
		}
	}
	srv, err := harness.Serve(context.Background(), harness.ServeOptions{
		BentoML: bin, Target: bentoTagOrPath, Dir: t.TempDir(), Env: env, Ready: BentoStartTimeout})
	if err != nil {
		t.Fatalf("serve bento: %v", err)
	}
	t.Cleanup(func() {
		srv.Stop()
		if t.Failed() {
			t.Logf("--- %s (tail) ---\n%s", srv.Log, Tail(srv.Log, 40))
		}
	})
	return srv.URL
}
