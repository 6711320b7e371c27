package tests

import (
	"context"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestTemporalRestart: the Temporal dev server is stopped for 10 s while a production promotion
// waits for its approval, and started again on its database file: the worker reconnects by
// itself, the run is still waiting, is approved and reaches Production, each decision once.
func TestTemporalRestart(t *testing.T) {
	tp := realparts.StartDurableTemporal(t)
	e := promoteWorld(t, tp, realparts.StartMLflow(t), "")
	e.worker = realparts.StartWorker(t, e.workEnv...)
	name := e.toShadow(t, "restart")
	id := e.awaitingProduction(t, name)
	began := time.Now()
	tp.Restart(t, 10*time.Second)
	e.waitFor(t, id, "approval")
	t.Logf("dev server down 10 s; the run answered its status again %s after the stop", time.Since(began).Round(100*time.Millisecond))
	e.approve(t, id, "alice@example.com", "accepted: approvals 1 of 1")
	e.finishedInProduction(t, id, name)
}

// TestMLflowOutage: MLflow stops as a production promotion is approved, so its registry write
// fails; it is retried (the registry calls' backoff) until MLflow is back 20 s later, and the run
// reaches Production with one registry version and each decision once.
func TestMLflowOutage(t *testing.T) {
	ml := realparts.StartMLflowServer(t)
	e := promoteWorld(t, realparts.StartTemporal(t), ml.URL, "")
	e.worker = realparts.StartWorker(t, e.workEnv...)
	name := e.toShadow(t, "outage")
	id := e.awaitingProduction(t, name)
	ml.Stop()
	down := time.Now()
	e.approve(t, id, "alice@example.com", "accepted: approvals 1 of 1")
	time.Sleep(20 * time.Second)
	ml.Start(t)
	e.finishedInProduction(t, id, name)
	t.Logf("MLflow down 20 s: the run reached Production %s after the outage began", time.Since(down).Round(100*time.Millisecond))
}

// TestAPIServerOutage: the kube-apiserver of the test's own control plane is stopped for 30 s
// while a production canary is at its 20 % step, then the control plane is started again on its
// data. The worker's cluster calls fail and are retried until it is back, and the run reaches
// Production with no split left behind, the registry, the rows and the ledger written once, and a
// history that replays. (With five attempts the 20 % step gave up after ~15 s and rolled back.)
func TestAPIServerOutage(t *testing.T) {
	pc := realparts.StartOwnCluster(t)
	g := startGatesWorldOn(t, pc.Kubeconfig, 2, "")
	if _, err := g.deploy(t, "outage-v1-"+g.ns, g.models[0]); err != nil {
		t.Fatalf("v1: %v", err)
	}
	id := "outage-v2-" + g.ns
	down := make(chan time.Time, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if err := awaitScheduled(ctx, g.tp, id, "SetTrafficWeight", 2); err != nil {
			t.Errorf("v2 never reached its 20 %% step: %v", err)
			down <- time.Time{}
			return
		}
		pc.StopAPIServer(t)
		at := time.Now()
		time.Sleep(30 * time.Second)
		pc.Start(t)
		down <- at
	}()
	out, err := g.deploy(t, id, g.models[1])
	at := <-down
	// The cluster calls retry for about two and a half minutes: a 30 s outage is ridden out.
	if err != nil || out.VersionRecord.Stage != contract.StageProduction {
		t.Errorf("v2 after the outage: %+v, %v; want Production", out.VersionRecord, err)
	}
	t.Logf("API server down 30 s at the 20 %% step: the run reached %s %s after the outage began",
		out.VersionRecord.Stage, time.Since(at).Round(100*time.Millisecond))
	g.checkDeployOnce(t, id, 2, "2")
	replayRecorded(t, g.tp, id, "")
}
