package tests

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// lockRaces is how many times two runs race for one lock.
const lockRaces = 3

// TestPostgresFaults runs two workers on a PostgreSQL cluster of the test's own:
//   - two production promotions of one model, started at the same instant (lockRaces times): one
//     claims production's lock and waits for its approval, the other fails ConcurrentDeployment
//     having run nothing but its claim; the winner is approved and reaches Production once;
//   - PostgreSQL stopped as a production promotion is approved and started again 15 s later: the
//     store writes fail and are retried until it is back, and the run reaches Production with each
//     decision once and no lock left.
func TestPostgresFaults(t *testing.T) {
	pg := realparts.StartOwnPostgres(t)
	e := promoteWorld(t, realparts.StartTemporal(t), realparts.StartMLflow(t), pg.URL, "DEPLOYER_WORKERS=2")
	realparts.StartWorker(t, e.workEnv...)
	realparts.StartWorker(t, e.workEnv...)
	t.Run("two deploys race for one lock: one runs, the other is refused before it changes anything", func(t *testing.T) {
		for i := range lockRaces {
			name := e.toShadow(t, fmt.Sprintf("race%d", i))
			ids := []string{fmt.Sprintf("race-a-%s", name), fmt.Sprintf("race-b-%s", name)}
			var wg sync.WaitGroup
			for _, id := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					e.start(t, id, e.input(name, contract.ActionPromote, contract.EnvProduction, true))
				}()
			}
			wg.Wait()
			winner, loser := e.raceWinner(t, ids)
			if got := scheduledActivities(t, e, loser); !slices.Equal(got, []string{"Claim"}) {
				t.Errorf("%s (refused) ran %v, want only its claim", loser, got)
			}
			e.approve(t, winner, "alice@example.com", "accepted: approvals 1 of 1")
			e.finishedInProduction(t, winner, name)
		}
	})
	t.Run("PostgreSQL restarted as a production promotion is approved", func(t *testing.T) {
		name := e.toShadow(t, "pgrestart")
		id := e.awaitingProduction(t, name)
		pg.Stop(t)
		down := time.Now()
		e.approve(t, id, "alice@example.com", "accepted: approvals 1 of 1")
		time.Sleep(15 * time.Second)
		pg.Start(t)
		e.finishedInProduction(t, id, name)
		t.Logf("PostgreSQL down 15 s: the run reached Production %s after the outage began", time.Since(down).Round(100*time.Millisecond))
	})
}

// raceWinner waits until one of two racing runs has closed, refused ConcurrentDeployment, and the
// other waits for its approval, and returns them.
func (e *env) raceWinner(t *testing.T, ids []string) (winner, loser string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		for i, id := range ids {
			d, err := e.tp.Client.DescribeWorkflowExecution(context.Background(), id, "")
			if err != nil || d.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
				continue
			}
			if _, err := e.result(t, id); errType(err) != contract.ErrConcurrentDeployment {
				t.Fatalf("%s closed with %v, want ConcurrentDeployment", id, err)
			}
			e.waitFor(t, ids[1-i], contract.WaitingForApproval)
			return ids[1-i], id
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("neither of %v was refused ConcurrentDeployment within a minute", ids)
	return "", ""
}

// scheduledActivities lists the activities a run scheduled, in order.
func scheduledActivities(t *testing.T, e *env, id string) []string {
	t.Helper()
	it := e.tp.Client.GetWorkflowHistory(context.Background(), id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var names []string
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			names = append(names, a.GetActivityType().GetName())
		}
	}
	return names
}
