package tests

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/approval"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// approverScript is the Python approver example (examples/python-approver/approver.py).
var approverScript = filepath.Join(realparts.Root(), "examples", "python-approver", "approver.py")

var (
	approverVenvOnce sync.Once
	approverPy       string
	approverVenvErr  error
)

// approverPython returns the python of the approver's own venv, installing it once per test binary
// with infra/scripts/approver-venv.sh (idempotent: milliseconds when it is already there). Without it
// the test skips, or fails under CI.
func approverPython(t testing.TB) string {
	t.Helper()
	approverVenvOnce.Do(func() {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(filepath.Join(realparts.Root(), "infra", "scripts", "approver-venv.sh"))
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			approverVenvErr = fmt.Errorf("infra/scripts/approver-venv.sh: %v\n%s", err, stderr.String())
			return
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		approverPy = lines[len(lines)-1]
		if _, err := os.Stat(approverPy); err != nil {
			approverVenvErr = fmt.Errorf("infra/scripts/approver-venv.sh printed %q: %v", approverPy, err)
		}
	})
	realparts.Require(t, "the Python approver's venv", approverVenvErr)
	return approverPy
}

// TestPythonApproverToken: a token that the Python example signs by hand (approver.py
// --print-token) is one the Go verifier accepts for its run, and refuses when tampered with or
// presented to another run — the contract holds across languages.
func TestPythonApproverToken(t *testing.T) {
	py := approverPython(t)
	dir := t.TempDir()
	const kid, approver = "py-alice-2026", "alice@example.com"

	key, err := approval.GenerateKey(approval.AlgEdDSA, kid)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "alice.jwk")
	if err := approval.WriteKey(keyPath, key); err != nil {
		t.Fatal(err)
	}
	public, err := json.Marshal(approval.Public(key))
	if err != nil {
		t.Fatal(err)
	}
	policy, err := approval.Parse([]byte(fmt.Sprintf(`{
		"approvers": [{"id": %q, "keys": [%s]}],
		"environments": {"production": {"approvers": [%q], "required": 1, "max_age": "1h"}}}`, approver, public, approver)))
	if err != nil {
		t.Fatalf("policy: %v", err)
	}

	now := time.Now()
	binding := approval.Binding{WorkflowID: "deploy-fraud-py", RunID: "0196e2a4-run-a", DeploymentName: "fraud",
		ModelName: "fraud-model", ModelVersion: "3", Environment: "production", Action: "promote"}
	claims := approval.Claims{Binding: binding, Approver: approver, IssuedAt: now.Unix(),
		Expiry: now.Add(10 * time.Minute).Unix(), Comment: "shadow report checked — signed in Python"}
	claimsJSON, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	claimsPath := filepath.Join(dir, "claims.json")
	if err := os.WriteFile(claimsPath, claimsJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, approverScript, "--print-token", "--claims", claimsPath, "--key", keyPath).Output()
	if err != nil {
		t.Fatalf("approver.py --print-token: %v\n%s", err, stderrOf(err))
	}
	token := strings.TrimSpace(string(out))

	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", token)
	}
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	if want := fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"typ":"JWT"}`, kid); err != nil || string(header) != want {
		t.Fatalf("header %s (err %v), want %s", header, err, want)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("payload is not unpadded base64url: %v", err)
	}
	// One byte of the signed payload changed, still well-formed claims: only the signature can tell.
	changed := bytes.Replace(payload, []byte(`"model_version":"3"`), []byte(`"model_version":"4"`), 1)
	if bytes.Equal(changed, payload) {
		t.Fatalf("payload %s has no compact \"model_version\":\"3\"", payload)
	}
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(changed) + "." + parts[2]
	otherRun := binding
	otherRun.RunID = "0196e2a4-run-b"

	for _, tc := range []struct {
		name     string
		token    string
		want     approval.Binding
		wantCode string // "" = accepted
	}{
		{"accepted for its run", token, binding, ""},
		{"one payload byte changed", tampered, binding, approval.RejectBadSignature},
		{"another run of the same workflow", token, otherRun, approval.RejectWrongRun},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, rej := approval.Judge(policy, approval.Request{Binding: tc.want, Requester: "ci@example.com"}, tc.token, approver, now)
			switch {
			case tc.wantCode == "" && rej != nil:
				t.Fatalf("rejected: %v", rej)
			case tc.wantCode == "" && got != claims:
				t.Fatalf("verified claims %+v, want %+v", got, claims)
			case tc.wantCode != "" && (rej == nil || rej.Code != tc.wantCode):
				t.Fatalf("got %v, want a %s rejection", rej, tc.wantCode)
			}
		})
	}
}

// approveWithPython runs the Python approver against a live run: it signs the run's
// approval_request with the private JWK at keyPath as approver and sends the Update approve, on
// the server at address, namespace default. It returns
// approver.py's stdout ("accepted: approvals N of M", "rejected: <reason>", ...) and exit code
// (0 accepted, 1 rejected, 3 not waiting for an approval, 2 usage/key error, 4 other failure).
func approveWithPython(t *testing.T, address, workflowID, keyPath, approver string) (stdout string, exitCode int) {
	t.Helper()
	return runPythonApprover(t, nil, "--address", address, "--namespace", "default",
		"--key", keyPath, "--approver", approver, "--comment", "approved from Python", workflowID)
}

// runPythonApprover runs approver.py with args, env added to the test's environment (Temporal's
// TEMPORAL_* settings, say), and returns its stdout, with its stderr appended when it failed, and
// its exit code.
func runPythonApprover(t *testing.T, env []string, args ...string) (output string, exitCode int) {
	t.Helper()
	py := approverPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{approverScript}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if errOut.Len() > 0 {
		t.Logf("approver.py stderr: %s", errOut.String())
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return out.String() + errOut.String(), exit.ExitCode()
	default:
		t.Fatalf("approver.py %v: %v", args, err)
		return "", -1
	}
}

// stderrOf is the captured stderr of a failed exec.Cmd.Output.
func stderrOf(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(exit.Stderr)
	}
	return ""
}
