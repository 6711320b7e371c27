package main

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/config"
)

// TestNewPackager: no OCI repository, no packager; a configured one is validated.
func TestNewPackager(t *testing.T) {
	log := newLogger("error")
	cfg := config.Defaults()
	if p, err := newPackager(cfg, log); p != nil || err != nil {
		t.Fatalf("unconfigured: %v, %v; want no packager", p, err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "package.py")
	if err := os.WriteFile(script, []byte("# stand-in\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable() // any executable file stands in for the interpreter here
	if err != nil {
		t.Fatal(err)
	}
	cfg.Packaging.OCIRepository = "127.0.0.1:5001/models"
	cfg.Packaging.BentoPython, cfg.Packaging.BentoScript = self, script
	cfg.Packaging.BentoMLHome = filepath.Join(dir, "bentoml")
	p, err := newPackager(cfg, log)
	if err != nil || p == nil {
		t.Fatalf("configured: %v, %v", p, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bentoml")); err != nil {
		t.Errorf("BENTOML_HOME not created: %v", err)
	}
	bad := []func(*config.PackagingConfig){
		func(c *config.PackagingConfig) { c.BentoPython = filepath.Join(dir, "no-python") },
		func(c *config.PackagingConfig) { c.BentoScript = filepath.Join(dir, "no-script.py") },
		func(c *config.PackagingConfig) { c.OCIRepository = "127.0.0.1:5001/Models" },
		func(c *config.PackagingConfig) { c.BaseImage = "not a ref" },
		func(c *config.PackagingConfig) { c.BentoEnv = []string{"AWS_REGION", "BENTOML_HOME"} }, // the build sets it itself
	}
	for i, mod := range bad {
		c := cfg
		mod(&c.Packaging)
		if p, err := newPackager(c, log); err == nil || !strings.Contains(err.Error(), "packager") {
			t.Errorf("case %d: %v, %v; want a packager configuration error", i, p, err)
		}
	}
}

// TestNoHarnessInWorker: the loopback harness and the test helpers are not linked into the worker,
// so no environment variable can switch them on in production (the harness is its own binary,
// cmd/loopback-harness; DEPLOYER_ENDPOINTS=loopback-harness is refused by config).
func TestNoHarnessInWorker(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const module = "github.com/temporaldeployer/temporaldeployer/"
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"harness", "tests", "cmd/loopback-harness", "cmd/parked-holds-harness"} {
			if pkg == module+banned || strings.HasPrefix(pkg, module+banned+"/") {
				t.Errorf("the worker links %s", pkg)
			}
		}
	}
	if !strings.Contains(string(out), module+"kube") {
		t.Fatalf("go list -deps lists no %skube: the check reads the wrong graph\n%s", module, out)
	}
}

// TestStartLogHidesSecrets: the start log names what the worker reaches without a password, a
// token or a signed query, even for URLs that carry them; the variables the bento build also gets
// by name only.
func TestStartLogHidesSecrets(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-Secret")
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			"DEPLOYER_BENTO_ENV":       "AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY",
			"DATABASE_URL":             "postgres://td:db-Secret@db/td?password=db-Secret2",
			"DEPLOYER_PROMETHEUS_URL":  "https://metrics:prom-Secret@prom.internal",
			"MLFLOW_TRACKING_USERNAME": "deployer", "MLFLOW_TRACKING_PASSWORD": "mlflow-Secret",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("worker started", startAttrs(cfg, true, true)...)
	for _, secret := range []string{"db-Secret", "prom-Secret", "mlflow-Secret", "aws-Secret"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("%s in the start log: %s", secret, buf.String())
		}
	}
	for _, shown := range []string{`"mlflow_auth":"basic auth as deployer"`, `"database":"postgres://td:xxxxx@db/td?password=xxxxx"`,
		`"bento_env":["AWS_ACCESS_KEY_ID","AWS_SECRET_ACCESS_KEY"]`} {
		if !strings.Contains(buf.String(), shown) {
			t.Errorf("the start log lacks %s: %s", shown, buf.String())
		}
	}
}
