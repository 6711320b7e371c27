package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestTemporalOverTLS: the worker and tdctl reach a Temporal frontend over TLS as the SDK's
// environment configuration says (TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME; here
// a TLS hop on loopback in front of the dev server, which cannot serve TLS itself). The worker
// takes a promotion to Staging through it and tdctl lists the run through it; a client trusting
// another CA is refused.
func TestTemporalOverTLS(t *testing.T) {
	tp := realparts.StartTemporal(t)
	hop := realparts.StartTLSHop(t, tp.Address)
	tlsEnv := []string{"TEMPORAL_ADDRESS=" + hop.Addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + hop.CAFile,
		"TEMPORAL_TLS_SERVER_NAME=" + hop.ServerName}
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
	wrong := []string{"TEMPORAL_ADDRESS=" + hop.Addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + realparts.NewCAFile(t),
		"TEMPORAL_TLS_SERVER_NAME=" + hop.ServerName}
	if out, code := realparts.TDCtl(t, wrong, "list"); code == 0 || !strings.Contains(out, "certificate") {
		t.Errorf("tdctl trusting another CA: exit %d, want a refusal naming the certificate\n%s", code, out)
	}
}
