package realparts

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/temporaldeployer/temporaldeployer/approval"
)

// Approvers is an approver policy file for the tests' workers, with the approvers' private keys
// beside it: alice (EdDSA) and bob (ES256) may approve production, one approval needed; carol has
// a key but approves nothing.
type Approvers struct {
	PolicyFile string
	Keys       map[string]string // approver → private JWK file
}

// WriteApprovers generates the approvers' keys and writes their policy into a temporary folder.
func WriteApprovers(t testing.TB) Approvers {
	t.Helper()
	dir := t.TempDir()
	a := Approvers{PolicyFile: filepath.Join(dir, "approvers.json"), Keys: map[string]string{}}
	type entry struct {
		ID   string            `json:"id"`
		Keys []jose.JSONWebKey `json:"keys"`
	}
	var entries []entry
	for _, ap := range []struct{ id, alg string }{{"alice@example.com", "EdDSA"}, {"bob@example.com", "ES256"}, {"carol@example.com", "EdDSA"}} {
		k, err := approval.GenerateKey(ap.alg, ap.id+"-test")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, ap.id+".jwk")
		if err := approval.WriteKey(path, k); err != nil {
			t.Fatal(err)
		}
		a.Keys[ap.id] = path
		entries = append(entries, entry{ID: ap.id, Keys: []jose.JSONWebKey{approval.Public(k)}})
	}
	policy := map[string]any{"approvers": entries, "environments": map[string]any{
		"production": map[string]any{"approvers": []string{"alice@example.com", "bob@example.com"}, "required": 1, "max_age": "1h"}}}
	b, err := json.MarshalIndent(policy, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.PolicyFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return a
}

// Env is the worker's environment variable naming the policy.
func (a Approvers) Env() string { return "DEPLOYER_APPROVERS_FILE=" + a.PolicyFile }

// TDCtl runs the operator CLI with env added to this process's environment and returns what it
// printed and its exit code.
func TDCtl(t testing.TB, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(Binary(t, "tdctl"), args...)
	cmd.Dir = Root()
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	case err != nil:
		t.Fatalf("tdctl %v: %v\n%s", args, err, out)
	}
	return string(out), 0
}
