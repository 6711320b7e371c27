package packaging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/temporaldeployer/temporaldeployer/redact"
	"github.com/temporaldeployer/temporaldeployer/registry/mlflowauth"
)

// built is what the build script (infra/bento/package.py) reports on its last stdout line.
type built struct {
	OK             bool     `json:"ok"`
	Kind           string   `json:"kind"` // on failure
	Message        string   `json:"message"`
	BentoTag       string   `json:"bento_tag"`
	Archive        string   `json:"archive"`
	ModelTag       string   `json:"model_tag"`
	Flavour        string   `json:"flavour"`
	Flavours       []string `json:"flavours"`
	ModelUUID      string   `json:"model_uuid"`
	CreationTime   string   `json:"creation_time"`
	BentoMLVersion string   `json:"bentoml_version"`
	MLflowVersion  string   `json:"mlflow_version"`
	// The predict body for the health check, as a JSON text ("" for none), and its source.
	InputExampleJSON   string `json:"input_example_json"`
	InputExampleSource string `json:"input_example_source"`
	// The lines of the built bento's env/python/requirements.txt.
	BentoRequirements []string `json:"bento_requirements"`

	created time.Time
}

// scriptKinds maps the script's error kinds (and exit codes) to ours.
var scriptKinds = map[string]ErrorKind{
	"model_not_found":     KindModelNotFound,
	"unsupported_flavour": KindUnsupportedFlavour,
	"invalid_argument":    KindInvalidRequest,
	"mlflow_unavailable":  KindMLflowUnavailable,
	"mlflow_denied":       KindMLflowDenied,
	"build_failed":        KindBuildFailed,
}

// build runs the build script: MLflow model → BentoML model store → bento → .bento archive.
func (b *BentoML) build(ctx context.Context, modelURI, bentoTag string) (built, error) {
	op := "build bento " + bentoTag + " from " + redact.URL(modelURI)
	bctx, cancel := context.WithTimeout(ctx, b.cfg.BuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(bctx, b.cfg.Python, b.cfg.Script, "--model-uri", modelURI, "--bento-tag", bentoTag,
		"--out-dir", filepath.Join(b.cfg.Home, "exports"), "--tracking-uri", b.cfg.TrackingURI)
	cmd.Dir = b.cfg.Home
	cmd.Env = b.scriptEnv(os.Getenv)
	// BentoML may start helpers; a cancelled activity takes the whole process group down.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	runErr := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return built{}, fmt.Errorf("%s: %w", op, ctx.Err())
	case bctx.Err() != nil:
		return built{}, &Error{Kind: KindBuildFailed, Op: op, Msg: fmt.Sprintf("timed out after %s; stderr tail:\n%s",
			b.cfg.BuildTimeout, b.tail(stderr))}
	}
	res, err := parseBuilt(stdout.String())
	if err != nil {
		return built{}, &Error{Kind: KindBuildFailed, Op: op, Msg: redact.Text(fmt.Sprintf("%v (exit: %v); stderr tail:\n%s",
			err, runErr, b.tail(stderr)), b.secrets()...)}
	}
	if !res.OK {
		kind, ok := scriptKinds[res.Kind]
		if !ok {
			kind = KindBuildFailed
		}
		msg := redact.Text(res.Message, b.secrets()...)
		if kind == KindBuildFailed {
			msg += "\nstderr tail:\n" + b.tail(stderr)
		}
		return built{}, &Error{Kind: kind, Op: op, Msg: msg}
	}
	if runErr != nil {
		return built{}, &Error{Kind: KindBuildFailed, Op: op, Msg: "script reported success but failed", Err: runErr}
	}
	if res.BentoTag != bentoTag || !filepath.IsAbs(res.Archive) {
		return built{}, newError(KindBuildFailed, op, "script reported bento %q, archive %q", res.BentoTag, res.Archive)
	}
	if res.created, err = time.Parse(time.RFC3339Nano, res.CreationTime); err != nil {
		return built{}, newError(KindBuildFailed, op, "bento creation time %q: %v", res.CreationTime, err)
	}
	res.created = res.created.UTC().Truncate(time.Second)
	return res, nil
}

// buildEnvPassed are the worker's variables the build script gets as they are: where programs
// and the home and temp directories are, the locale, and how to reach MLflow as the worker does
// (CA bundles, proxies).
// Nothing else of the worker's environment reaches it (DATABASE_URL, cloud credentials, tokens)
// but what the operator names in DEPLOYER_BENTO_ENV (PassEnv).
var buildEnvPassed = []string{"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
	"MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"}

// scriptEnv is the build script's whole environment, explicit and minimal: buildEnvPassed and
// the operator's PassEnv from the worker's (getenv), BentoML's store, MLflow's URI and auth, no
// usage tracking. MLflow's client retries a refused connection for minutes by default; two
// retries here, the activity's retry policy does the rest.
func (b *BentoML) scriptEnv(getenv func(string) string) []string {
	env := []string{
		"BENTOML_HOME=" + b.cfg.Home,
		"BENTOML_DO_NOT_TRACK=true",
		"MLFLOW_DISABLE_TELEMETRY=true",
		"DO_NOT_TRACK=true",
		"PYTHONUNBUFFERED=1",
		"MLFLOW_TRACKING_URI=" + b.cfg.TrackingURI,
		"MLFLOW_HTTP_REQUEST_MAX_RETRIES=2",
	}
	for _, k := range buildEnvPassed {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v) // a later duplicate wins (os/exec keeps the last)
		}
	}
	if getenv("LANG") == "" {
		env = append(env, "LANG=C.UTF-8")
	}
	env = append(env, b.passEnv(getenv)...)
	return append(env, b.cfg.MLflowAuth.Env()...)
}

// buildEnvSet are the variables the build gets from the packager's configuration, whatever the
// worker's environment says: PassEnv may not name them.
var buildEnvSet = []string{"BENTOML_HOME", "BENTOML_DO_NOT_TRACK", "MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK",
	"PYTHONUNBUFFERED", "MLFLOW_TRACKING_URI", mlflowauth.EnvToken, mlflowauth.EnvUsername, mlflowauth.EnvPassword}

// checkPassEnv refuses a PassEnv name the build sets itself: listing it could not do what it says.
func checkPassEnv(names []string) error {
	for _, k := range names {
		if slices.Contains(buildEnvSet, k) {
			return fmt.Errorf("DEPLOYER_BENTO_ENV: the build sets %s itself (from DEPLOYER_BENTOML_HOME, "+
				"MLFLOW_TRACKING_URI, MLflow's credentials or its own switches); remove it from the list", k)
		}
	}
	return nil
}

// passEnv is the NAME=value pairs of PassEnv set in getenv, less those the build gets anyway.
func (b *BentoML) passEnv(getenv func(string) string) []string {
	var env []string
	for _, k := range b.cfg.PassEnv {
		if slices.Contains(buildEnvPassed, k) || slices.Contains(buildEnvSet, k) {
			continue
		}
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// tail is the last 20 lines of the build's stderr, redacted: they reach the activity's error
// and so Temporal's history.
func (b *BentoML) tail(stderr *tailBuffer) string {
	return redact.Text(stderr.lastLines(20), b.secrets()...)
}

// parseBuilt reads the JSON object on the script's last non-empty stdout line.
func parseBuilt(stdout string) (built, error) {
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return built{}, errors.New("build script printed no result")
	}
	var res built
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		return built{}, fmt.Errorf("build script result %q: %w", truncate(last, 300), err)
	}
	return res, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) lastLines(n int) string {
	lines := strings.Split(strings.TrimRight(string(t.buf), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
