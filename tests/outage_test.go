package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/store"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestTemporalRestart: the Temporal dev server is stopped for 10 s while a production promotion
// waits for its approval, and started again on its database file: the worker reconnects by
// itself, the run is still waiting, is approved and reaches Production, each decision once.
func TestTemporalRestart(t *testing.T) {
	tp := realparts.StartDurableTemporal(t)
	mlflow := realparts.StartMLflow(t)
	db := filepath.Join(t.TempDir(), "deployer.db")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{tp: tp, mlflow: mlflow, dbURL: db, model: realparts.LogSklearnModel(t, mlflow, "restart"), st: st,
		approvers: realparts.WriteApprovers(t)}
	e.workEnv = []string{"TEMPORAL_ADDRESS=" + tp.Address, "MLFLOW_TRACKING_URI=" + mlflow, "DATABASE_URL=" + db,
		e.approvers.Env(), "DEPLOYER_ALLOW_CALLER_SHADOW_EVIDENCE=true"}
	e.worker = realparts.StartWorker(t, e.workEnv...)
	name := fmt.Sprintf("restart-%d", time.Now().UnixNano()%1e6)
	for _, rung := range []contract.Environment{contract.EnvStaging, contract.EnvShadow} {
		if out, err := e.run(t, string(rung)+"-"+name, e.input(name, contract.ActionPromote, rung, false)); err != nil {
			t.Fatalf("promote to %s: %+v %v", rung, out, err)
		}
	}
	id := "production-" + name
	e.start(t, id, e.input(name, contract.ActionPromote, contract.EnvProduction, true))
	e.waitFor(t, id, "approval")
	began := time.Now()
	tp.Restart(t, 10*time.Second)
	e.waitFor(t, id, "approval")
	t.Logf("dev server down 10 s; the run answered its status again %s after the stop", time.Since(began).Round(100*time.Millisecond))
	e.approve(t, id, "alice@example.com", "accepted: approvals 1 of 1")
	out, err := e.result(t, id)
	if err != nil || out.VersionRecord.Stage != contract.StageProduction {
		t.Fatalf("%s: %+v %v", id, out, err)
	}
	e.checkOnce(t, id, name, contract.EnvProduction)
}

// TestMLflowOutage: MLflow stops as a production promotion is approved, so its registry write
// fails; it is retried (the registry calls' backoff) until MLflow is back 20 s later, and the run
// reaches Production with one registry version and each decision once.
func TestMLflowOutage(t *testing.T) {
	tp := realparts.StartTemporal(t)
	ml := realparts.StartMLflowServer(t)
	db := filepath.Join(t.TempDir(), "deployer.db")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{tp: tp, mlflow: ml.URL, dbURL: db, model: realparts.LogSklearnModel(t, ml.URL, "outage"), st: st,
		approvers: realparts.WriteApprovers(t)}
	e.workEnv = []string{"TEMPORAL_ADDRESS=" + tp.Address, "MLFLOW_TRACKING_URI=" + ml.URL, "DATABASE_URL=" + db,
		e.approvers.Env(), "DEPLOYER_ALLOW_CALLER_SHADOW_EVIDENCE=true"}
	e.worker = realparts.StartWorker(t, e.workEnv...)
	name := fmt.Sprintf("outage-%d", time.Now().UnixNano()%1e6)
	for _, rung := range []contract.Environment{contract.EnvStaging, contract.EnvShadow} {
		if out, err := e.run(t, string(rung)+"-"+name, e.input(name, contract.ActionPromote, rung, false)); err != nil {
			t.Fatalf("promote to %s: %+v %v", rung, out, err)
		}
	}
	id := "production-" + name
	e.start(t, id, e.input(name, contract.ActionPromote, contract.EnvProduction, true))
	e.waitFor(t, id, "approval")
	ml.Stop()
	down := time.Now()
	e.approve(t, id, "alice@example.com", "accepted: approvals 1 of 1")
	time.Sleep(20 * time.Second)
	ml.Start(t)
	out, err := e.result(t, id)
	if err != nil || out.VersionRecord.Stage != contract.StageProduction {
		t.Fatalf("%s: %+v %v", id, out, err)
	}
	t.Logf("MLflow down 20 s: the run reached Production %s after the outage began", time.Since(down).Round(100*time.Millisecond))
	e.checkOnce(t, id, name, contract.EnvProduction)
}
