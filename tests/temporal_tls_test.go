package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestTemporalOverTLS: the worker and tdctl reach a Temporal frontend over mTLS with an API key
// as the SDK's environment configuration says (TEMPORAL_TLS_SERVER_CA_CERT_PATH,
// TEMPORAL_TLS_SERVER_NAME, TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH, TEMPORAL_API_KEY; here an
// authenticating hop on loopback in front of the dev server, which cannot serve TLS itself). The
// worker takes a promotion to Staging through it and tdctl lists the run through it; a client
// trusting another CA, one without a client certificate and one with another API key are refused.
func TestTemporalOverTLS(t *testing.T) {
	tp := realparts.StartTemporal(t)
	hop := realparts.StartTLSHop(t, tp.Address, "tmprl-test-key")
	base := []string{"TEMPORAL_ADDRESS=" + hop.Addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + hop.CAFile,
		"TEMPORAL_TLS_SERVER_NAME=" + hop.ServerName}
	clientCert := []string{"TEMPORAL_TLS_CLIENT_CERT_PATH=" + hop.ClientCert, "TEMPORAL_TLS_CLIENT_KEY_PATH=" + hop.ClientKey}
	tlsEnv := append(append(append([]string{}, base...), clientCert...), "TEMPORAL_API_KEY="+hop.APIKey)
	e := promoteWorld(t, tp, realparts.StartMLflow(t), "", tlsEnv...)
	e.worker = realparts.StartWorker(t, e.workEnv...)
	name := fmt.Sprintf("tls-%d", time.Now().UnixNano()%1e6)
	id := "staging-" + name
	if out, err := e.run(t, id, e.input(name, contract.ActionPromote, contract.EnvStaging, false)); err != nil ||
		out.VersionRecord.Stage != contract.StageStaging {
		t.Fatalf("promotion through the TLS hop: %+v, %v", out, err)
	}
	if pid := lastWorkflowTaskPid(t, tp, id); pid != e.worker.Pid() {
		t.Errorf("the run's last task ran in pid %d, not the worker %d", pid, e.worker.Pid())
	}
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
