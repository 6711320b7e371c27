package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
	"go.temporal.io/sdk/client"
)

// TestTemporalOverTLS: the worker and tdctl reach a Temporal frontend over mTLS with an API key
// as the SDK's environment configuration says (a profile of a temporal.toml for the worker;
// TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_TLS_CLIENT_CERT_PATH /
// _KEY_PATH, TEMPORAL_API_KEY for the tools; here an authenticating hop on loopback in front of
// the dev server, which cannot serve TLS itself, refusing the operator API as Temporal Cloud does,
// in a namespace other than default whose search attributes an operator made beforehand). The
// worker takes a model to Production through it, the Python approver (another language's SDK, the
// same variables) approving, and tdctl lists the run through it; a client trusting another CA, one
// without a client certificate and one with another API key are refused. Last, the hop refuses the
// worker's polls for good, and the worker exits non-zero.
func TestTemporalOverTLS(t *testing.T) {
	const namespace = "ml-team"
	tp := realparts.StartTemporalWithNamespaces(t, namespace)
	hop := realparts.StartTLSHop(t, tp.Address, "tmprl-test-key")
	hop.RefuseOperatorAPI.Store(true)
	base := []string{"TEMPORAL_ADDRESS=" + hop.Addr, "TEMPORAL_NAMESPACE=" + namespace,
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + hop.CAFile, "TEMPORAL_TLS_SERVER_NAME=" + hop.ServerName}
	clientCert := []string{"TEMPORAL_TLS_CLIENT_CERT_PATH=" + hop.ClientCert, "TEMPORAL_TLS_CLIENT_KEY_PATH=" + hop.ClientKey}
	tlsEnv := append(append(append([]string{}, base...), clientCert...), "TEMPORAL_API_KEY="+hop.APIKey)
	e := promoteWorld(t, inNamespace(t, tp, namespace), realparts.StartMLflow(t), "")
	port, err := realparts.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", port)
	e.workEnv = append(slices.DeleteFunc(e.workEnv, func(kv string) bool { return strings.HasPrefix(kv, "TEMPORAL_ADDRESS=") }), // the profile alone
		"TEMPORAL_CONFIG_FILE="+hop.Profile(t, "cloudlike", namespace), "TEMPORAL_PROFILE=cloudlike", "DEPLOYER_METRICS_ADDR="+metricsAddr)
	e.worker = realparts.StartWorker(t, e.workEnv...)
	name := e.toShadow(t, "tls")
	if pid := lastWorkflowTaskPid(t, e.tp, "staging-"+name); pid != e.worker.Pid() {
		t.Errorf("the run's last task ran in pid %d, not the worker %d", pid, e.worker.Pid())
	}
	started := logLine(t, e.worker.Log, "worker started")
	if started["temporal"] != hop.Addr || started["namespace"] != namespace {
		t.Errorf("the start log names %v, namespace %v: want the profile's %s, %s", started["temporal"], started["namespace"], hop.Addr, namespace)
	}
	if warn := logLine(t, e.worker.Log, "cannot check the search attributes"); warn["namespace"] != namespace {
		t.Errorf("the operator API's refusal logged for namespace %v", warn["namespace"])
	}
	pythonApprovesOverTLS(t, e, name, tlsEnv, map[string][]string{
		"without a client certificate": append(append([]string{}, base...), "TEMPORAL_API_KEY="+hop.APIKey),
		"with another API key":         append(append(append([]string{}, base...), clientCert...), "TEMPORAL_API_KEY=other")})
	id := "production-" + name
	if out, code := realparts.TDCtl(t, tlsEnv, "list", "-deployment", name); code != 0 || !strings.Contains(out, id) {
		t.Errorf("tdctl list over TLS: exit %d\n%s", code, out)
	}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"trusting another CA", append(append([]string{"TEMPORAL_ADDRESS=" + hop.Addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + realparts.NewCAFile(t),
			"TEMPORAL_TLS_SERVER_NAME=" + hop.ServerName}, clientCert...), "TEMPORAL_API_KEY="+hop.APIKey), "certificate"},
		{"without a client certificate", append(append([]string{}, base...), "TEMPORAL_API_KEY="+hop.APIKey), "no client certificate"},
		{"with another API key", append(append(append([]string{}, base...), clientCert...), "TEMPORAL_API_KEY=other"), "API key"},
	} {
		if out, code := realparts.TDCtl(t, tc.env, "list"); code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("tdctl %s: exit %d, want a refusal naming %q\n%s", tc.name, code, tc.want, out)
		}
	}
	stopsWhenPollsRefused(t, e.worker, hop, metricsAddr)
}

// stopsWhenPollsRefused: a worker whose polls Temporal refuses for good (INVALID_ARGUMENT, which
// the SDK gives up on after its 2-minute grace) exits non-zero, so that its pod restarts, instead
// of staying alive and ready with nothing polling.
func stopsWhenPollsRefused(t *testing.T, w *realparts.Worker, hop *realparts.TLSHop, metricsAddr string) {
	t.Helper()
	resp, err := http.Get("http://" + metricsAddr + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz of a polling worker: %v %v", resp, err)
	}
	resp.Body.Close()
	hop.RefusePolls.Store(true)
	code, exited := w.Exited(4 * time.Minute)
	if !exited || code == 0 {
		t.Fatalf("polls refused for good: the worker exited %v with %d; want a non-zero exit", exited, code)
	}
	if stopped := logLine(t, w.Log, "worker stopped"); !strings.Contains(fmt.Sprint(stopped["error"]), "stopped polling Temporal") {
		t.Errorf("the worker's last words: %v", stopped)
	}
}

// pythonApprovesOverTLS: the Python approver reaches the hop from TEMPORAL_* alone (no --address)
// and approves name's production promotion, which ends in Production; with each of refused's
// settings it exits 4 naming what it presented, before the approval.
func pythonApprovesOverTLS(t *testing.T, e *env, name string, tlsEnv []string, refused map[string][]string) {
	t.Helper()
	id := e.awaitingProduction(t, name)
	args := []string{"--key", e.approvers.Keys["alice@example.com"], "--approver", "alice@example.com", id}
	for what, env := range refused {
		if out, code := runPythonApprover(t, env, args...); code != 4 || !strings.Contains(out, "cannot reach Temporal at") {
			t.Errorf("approver.py %s: exit %d, want 4 and a refusal\n%s", what, code, out)
		}
	}
	if out, code := runPythonApprover(t, tlsEnv, args...); code != 0 || !strings.Contains(out, "accepted: approvals 1 of 1") {
		t.Fatalf("approver.py over mTLS with the API key: exit %d\n%s", code, out)
	}
	e.finishedInProduction(t, id, name)
}

// inNamespace is tp with a client of namespace.
func inNamespace(t *testing.T, tp *realparts.Temporal, namespace string) *realparts.Temporal {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: tp.Address, Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	in := *tp
	in.Client, in.Namespace = c, namespace
	return &in
}

// logLine is the first JSON line of the log at path whose msg starts with msg.
func logLine(t *testing.T, path, msg string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && strings.HasPrefix(fmt.Sprint(rec["msg"]), msg) {
			return rec
		}
	}
	t.Fatalf("no %q line in %s", msg, path)
	return nil
}
