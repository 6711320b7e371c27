package tests

import (
	"testing"
	"time"

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
