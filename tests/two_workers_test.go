package tests

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.temporal.io/api/enums/v1"

	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestTwoWorkers: two workers serve the task queue on one PostgreSQL store; the one that ran the
// run's last workflow task is killed with SIGKILL in the production approval wait, and the other
// finishes the promotion alone, each decision once, the lock released.
func TestTwoWorkers(t *testing.T) {
	pg := os.Getenv("TEST_POSTGRES_URL")
	if pg == "" {
		realparts.Require(t, "PostgreSQL (TEST_POSTGRES_URL)", errors.New("TEST_POSTGRES_URL is not set"))
	}
	e := promoteWorld(t, realparts.StartTemporal(t), realparts.StartMLflow(t), pg, "DEPLOYER_WORKERS=2")
	workers := []*realparts.Worker{realparts.StartWorker(t, e.workEnv...), realparts.StartWorker(t, e.workEnv...)}
	name := e.toShadow(t, "two")
	id := e.awaitingProduction(t, name)
	pid := lastWorkflowTaskPid(t, e.tp, id)
	var survivor *realparts.Worker
	for _, w := range workers {
		if w.Pid() == pid {
			w.Kill()
		} else {
			survivor = w
		}
	}
	if survivor == nil || survivor.Pid() == pid {
		t.Fatalf("the run's last workflow task ran in pid %d, neither worker (%d, %d)", pid, workers[0].Pid(), workers[1].Pid())
	}
	e.approve(t, id, "alice@example.com", "accepted: approvals 1 of 1")
	e.finishedInProduction(t, id, name)
	if last := lastWorkflowTaskPid(t, e.tp, id); last != survivor.Pid() {
		t.Errorf("the run finished in pid %d, want the survivor %d", last, survivor.Pid())
	}
}

// lastWorkflowTaskPid is the process that ran the run's last workflow task, from the identity
// (pid@host@) the worker gave Temporal.
func lastWorkflowTaskPid(t *testing.T, tp *realparts.Temporal, id string) int {
	t.Helper()
	it := tp.Client.GetWorkflowHistory(context.Background(), id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	identity := ""
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetWorkflowTaskStartedEventAttributes(); a != nil {
			identity = a.GetIdentity()
		}
	}
	pid, err := strconv.Atoi(strings.SplitN(identity, "@", 2)[0])
	if err != nil {
		t.Fatalf("worker identity %q: %v", identity, err)
	}
	return pid
}
