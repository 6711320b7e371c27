package packaging

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/registry/mlflowauth"
)

// fakeBuild is a packager whose build script is a shell script: it writes its whole environment
// to env.txt beside itself, prints body to stderr and fails like the real script.
func fakeBuild(t *testing.T, stderr string, auth mlflowauth.Credentials) (*BentoML, string) {
	t.Helper()
	return fakeBuildPassing(t, stderr, auth, nil)
}

// fakeBuildPassing is fakeBuild with PassEnv (DEPLOYER_BENTO_ENV) set to passEnv.
func fakeBuildPassing(t *testing.T, stderr string, auth mlflowauth.Credentials, passEnv []string) (*BentoML, string) {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "build.sh")
	body := "env > \"$(dirname \"$0\")/env.txt\"\ncat >&2 <<'TAIL'\n" + stderr + "\nTAIL\n" +
		`echo '{"ok": false, "kind": "build_failed", "message": "failed with MLFLOW_TRACKING_PASSWORD=` + auth.Password + `"}'` + "\nexit 1\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := NewBentoML(BentoMLConfig{TrackingURI: "http://127.0.0.1:1", MLflowAuth: auth, Repository: "127.0.0.1:1/models",
		Python: "/bin/sh", Script: script, Home: filepath.Join(dir, "home"), BuildTimeout: time.Minute, PassEnv: passEnv})
	if err != nil {
		t.Fatal(err)
	}
	return b, filepath.Join(dir, "env.txt")
}

// TestBuildEnvironmentIsMinimal: the build script sees only the variables it needs — never the
// worker's DATABASE_URL, cloud credentials or Temporal API key — and gets MLflow's credentials
// in MLflow's own variables.
func TestBuildEnvironmentIsMinimal(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://td:db-secret@db/td")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
	t.Setenv("TEMPORAL_API_KEY", "temporal-secret")
	t.Setenv("DEPLOYER_LEDGER_KEY", "/secrets/ledger.jwk")
	t.Setenv("TMPDIR", t.TempDir())
	b, envFile := fakeBuild(t, "", mlflowauth.Credentials{Username: "deployer", Password: "mlflow-secret"})
	if _, err := b.build(context.Background(), "models:/fraud/1", "e2i_1_model:v1"); err == nil {
		t.Fatal("the fake build succeeded")
	}
	got := readEnv(t, envFile)
	for _, leaked := range []string{"DATABASE_URL", "AWS_SECRET_ACCESS_KEY", "TEMPORAL_API_KEY", "DEPLOYER_LEDGER_KEY"} {
		if _, ok := got[leaked]; ok {
			t.Errorf("the build sees the worker's %s", leaked)
		}
	}
	want := map[string]string{"MLFLOW_TRACKING_URI": "http://127.0.0.1:1", "MLFLOW_TRACKING_USERNAME": "deployer",
		"MLFLOW_TRACKING_PASSWORD": "mlflow-secret", "BENTOML_HOME": b.cfg.Home, "PATH": os.Getenv("PATH"),
		"HOME": os.Getenv("HOME"), "TMPDIR": os.Getenv("TMPDIR"), "BENTOML_DO_NOT_TRACK": "true"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q in the build, want %q", k, got[k], v)
		}
	}
	allowed := map[string]bool{"PWD": true, "SHLVL": true, "_": true, "OLDPWD": true} // the shell's own
	for _, k := range append(buildEnvPassed, "BENTOML_HOME", "BENTOML_DO_NOT_TRACK", "MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK",
		"PYTHONUNBUFFERED", "MLFLOW_TRACKING_URI", "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD") {
		allowed[k] = true
	}
	for k := range got {
		if !allowed[k] {
			t.Errorf("the build sees %s, which it was not given", k)
		}
	}
}

// TestBuildFailureRedacted: the script's message and stderr tail reach the activity's error and
// Temporal's history: credentials in them are hidden.
func TestBuildFailureRedacted(t *testing.T) {
	auth := mlflowauth.Credentials{Token: "tok-Secret-123"}
	tail := strings.Join([]string{
		"Traceback (most recent call last):",
		"requests.exceptions.HTTPError: 401 for url: https://deployer:pw-Secret-456@mlflow.internal/api/2.0/mlflow/runs/get",
		"headers: {'Authorization': 'Bearer tok-Secret-123'}",
		"token tok-Secret-123 refused",
	}, "\n")
	b, _ := fakeBuild(t, tail, auth)
	_, err := b.build(context.Background(), "models:/fraud/1", "e2i_1_model:v1")
	if err == nil {
		t.Fatal("the fake build succeeded")
	}
	msg := err.Error()
	for _, secret := range []string{"tok-Secret-123", "pw-Secret-456"} {
		if strings.Contains(msg, secret) {
			t.Errorf("%s is in the error:\n%s", secret, msg)
		}
	}
	if !strings.Contains(msg, "requests.exceptions.HTTPError: 401") {
		t.Errorf("the stderr tail is gone from the error:\n%s", msg)
	}
}

// readEnv reads the environment the fake build dumped.
func readEnv(t *testing.T, envFile string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		got[k] = v
	}
	return got
}
