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

// promoteWorld is the world of the registry-only fault tests (crash matrix, outages, two
// workers): a dev server, MLflow with one logged model, a store (SQLite in a temporary folder
// unless dbURL is given), the test approvers and the worker's environment — caller-supplied
// shadow evidence, so that promotions need no workload. No worker is started.
func promoteWorld(t *testing.T, tp *realparts.Temporal, mlflow, dbURL string, extraEnv ...string) *env {
	t.Helper()
	if dbURL == "" {
		dbURL = filepath.Join(t.TempDir(), "deployer.db")
	}
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{tp: tp, mlflow: mlflow, dbURL: dbURL, model: realparts.LogSklearnModel(t, mlflow, "faults"), st: st,
		approvers: realparts.WriteApprovers(t)}
	e.workEnv = append([]string{"TEMPORAL_ADDRESS=" + tp.Address, "MLFLOW_TRACKING_URI=" + mlflow, "DATABASE_URL=" + dbURL,
		e.approvers.Env(), "DEPLOYER_ALLOW_CALLER_SHADOW_EVIDENCE=true"}, extraEnv...)
	return e
}

// toShadow promotes a fresh model name to Staging then Shadow and returns it.
func (e *env) toShadow(t *testing.T, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e6)
	for _, rung := range []contract.Environment{contract.EnvStaging, contract.EnvShadow} {
		if out, err := e.run(t, string(rung)+"-"+name, e.input(name, contract.ActionPromote, rung, false)); err != nil {
			t.Fatalf("promote to %s: %+v %v", rung, out, err)
		}
	}
	return name
}

// awaitingProduction starts a production promotion of name and returns its ID once it waits for
// its approval.
func (e *env) awaitingProduction(t *testing.T, name string) string {
	t.Helper()
	id := "production-" + name
	e.start(t, id, e.input(name, contract.ActionPromote, contract.EnvProduction, true))
	e.waitFor(t, id, contract.WaitingForApproval)
	return id
}

// finishedInProduction waits for the run's result and checks it reached Production once.
func (e *env) finishedInProduction(t *testing.T, id, name string) {
	t.Helper()
	out, err := e.result(t, id)
	if err != nil || out.VersionRecord.Stage != contract.StageProduction {
		t.Fatalf("%s: %+v %v", id, out, err)
	}
	e.checkOnce(t, id, name, contract.EnvProduction)
}
