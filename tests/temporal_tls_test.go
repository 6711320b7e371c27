package tests

import (
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestTemporalOverTLS: the worker and tdctl reach a Temporal frontend over mTLS with an API key
// as the SDK's environment configuration says (TEMPORAL_TLS_SERVER_CA_CERT_PATH,
// TEMPORAL_TLS_SERVER_NAME, TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH, TEMPORAL_API_KEY; here an
// authenticating hop on loopback in front of the dev server, which cannot serve TLS itself). The
// worker takes a model to Production through it, the Python approver (another language's SDK, the
// same variables) approving, and tdctl lists the run through it; a client trusting another CA, one
// without a client certificate and one with another API key are refused.
func TestTemporalOverTLS(t *testing.T) {
	tp := realparts.StartTemporal(t)
	hop := realparts.StartTLSHop(t, tp.Address, "tmprl-test-key")
	base := []string{"TEMPORAL_ADDRESS=" + hop.Addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + hop.CAFile,
		"TEMPORAL_TLS_SERVER_NAME=" + hop.ServerName}
	clientCert := []string{"TEMPORAL_TLS_CLIENT_CERT_PATH=" + hop.ClientCert, "TEMPORAL_TLS_CLIENT_KEY_PATH=" + hop.ClientKey}
	tlsEnv := append(append(append([]string{}, base...), clientCert...), "TEMPORAL_API_KEY="+hop.APIKey)
	e := promoteWorld(t, tp, realparts.StartMLflow(t), "", tlsEnv...)
	e.worker = realparts.StartWorker(t, e.workEnv...)
	name := e.toShadow(t, "tls")
	if pid := lastWorkflowTaskPid(t, tp, "staging-"+name); pid != e.worker.Pid() {
		t.Errorf("the run's last task ran in pid %d, not the worker %d", pid, e.worker.Pid())
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
