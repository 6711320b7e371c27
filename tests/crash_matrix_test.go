package tests

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// crashPoint is where the worker is killed: when the run of one rung (its target environment)
// schedules the nth activity of a type, or when it starts waiting for its approval.
type crashPoint struct {
	rung     contract.Environment
	activity string // "" with approval
	nth      int
	approval bool
}

func (p crashPoint) String() string {
	if p.approval {
		return string(p.rung) + ": in the approval wait"
	}
	return fmt.Sprintf("%s: %s #%d", p.rung, p.activity, p.nth)
}

// crashPoints are the kill points of a model's walk None → Staging → Shadow → Production by
// promote runs (the registry and the records; no workload). TD_CRASH_MATRIX=all runs every one
// (make crash-matrix); the default is the short set that fits CI.
func crashPoints() []crashPoint {
	all := []crashPoint{
		{contract.EnvStaging, "Claim", 1, false}, {contract.EnvStaging, "ResolveModel", 1, false},
		{contract.EnvStaging, "Record", 1, false}, {contract.EnvStaging, "PromoteStage", 1, false},
		{contract.EnvStaging, "Record", 2, false}, {contract.EnvStaging, "Release", 1, false},
		{contract.EnvShadow, "Claim", 1, false}, {contract.EnvShadow, "ResolveModel", 1, false},
		{contract.EnvShadow, "PromoteStage", 1, false}, {contract.EnvShadow, "Record", 2, false},
		{contract.EnvProduction, "Claim", 1, false}, {contract.EnvProduction, "FindShadowEvidence", 1, false},
		{contract.EnvProduction, "Record", 2, false}, {contract.EnvProduction, "", 0, true},
		// After the approval: its record, the registry write, the outcome, the lock.
		{contract.EnvProduction, "Record", 3, false}, {contract.EnvProduction, "PromoteStage", 1, false},
		{contract.EnvProduction, "Record", 4, false}, {contract.EnvProduction, "Release", 1, false},
	}
	if os.Getenv("TD_CRASH_MATRIX") == "all" {
		return all
	}
	return []crashPoint{all[3], all[13], all[15]} // the registry write, the approval wait, Production
}

// TestCrashMatrix kills the worker with SIGKILL at each point of a model's promotion to
// Production and starts a new one: every run reaches exactly one final state (each rung's stage),
// with one registry version, each ledger decision once, no lock left held, and a history that
// replays. The deploy path has its own matrix (TestDeployCrashMatrix).
func TestCrashMatrix(t *testing.T) {
	top := t // workers outlive each subtest
	e := promoteWorld(t, realparts.StartTemporal(t), realparts.StartMLflow(t), "")
	e.worker = realparts.StartWorker(t, e.workEnv...)
	var table []string
	for i, p := range crashPoints() {
		name := fmt.Sprintf("crash-%d-%d", i, time.Now().UnixNano()%1e6)
		t.Run(p.String(), func(t *testing.T) {
			recovered, hit := e.walkWithCrash(t, top, name, p)
			how := "hit: the new worker finished the run"
			if !hit {
				how = "missed: the run had ended before the kill"
			}
			table = append(table, fmt.Sprintf("%-36s → Production, 1 registry version, ledger once each; %s, in %s", p, how,
				recovered.Round(100*time.Millisecond)))
		})
	}
	t.Logf("crash matrix:\n%s", strings.Join(table, "\n"))
}

// walkWithCrash promotes a fresh model name to Production rung by rung, killing the worker at p,
// and checks the invariants; it returns the time from the kill to the crashed run's result, and
// whether the kill hit the run while it was open.
func (e *env) walkWithCrash(t, top *testing.T, name string, p crashPoint) (recovered time.Duration, hit bool) {
	for _, rung := range []contract.Environment{contract.EnvStaging, contract.EnvShadow, contract.EnvProduction} {
		id := "crash-" + string(rung) + "-" + name
		e.start(t, id, e.input(name, contract.ActionPromote, rung, rung == contract.EnvProduction))
		kill := make(chan killed, 1)
		if p.rung == rung {
			go func() { kill <- e.killAt(top, id, p) }() // follows the run from its start
		} else {
			kill <- killed{}
		}
		var k killed
		if rung == contract.EnvProduction {
			if p.rung == rung && p.approval { // killed in the wait: the new worker's run is approved
				k = <-kill
			}
			e.waitFor(t, id, "approval")
			e.approve(t, id, "alice@example.com", "accepted: approvals 1 of 1")
		}
		if k.at.IsZero() {
			k = <-kill
		}
		if k.err != nil {
			t.Fatal(k.err)
		}
		out, err := e.result(t, id)
		if err != nil || out.VersionRecord.Stage != rung.Stage() {
			t.Fatalf("%s: %+v, %v; want %s", id, out, err, rung.Stage())
		}
		if !k.at.IsZero() {
			recovered = time.Since(k.at)
			// A hit: the run was open at the kill and the new worker ran its last workflow task.
			hit = k.open && lastWorkflowTaskPid(t, e.tp, id) == e.worker.Pid()
		}
		e.checkOnce(t, id, name, rung)
	}
	return recovered, hit
}

// killed is when killAt killed the worker and whether the run was still open then, or why it
// could not.
type killed struct {
	at   time.Time
	open bool
	err  error
}

// killAt follows the run's history as it is written and kills the worker at p, then starts
// another (it runs beside the test's own waiting, so it reports rather than fails).
func (e *env) killAt(top *testing.T, id string, p crashPoint) killed {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if p.approval {
		if _, err := e.tp.AwaitStatus(ctx, id, contract.WaitingForApproval); err != nil {
			return killed{err: err}
		}
	} else if err := awaitScheduled(ctx, e.tp, id, p.activity, p.nth); err != nil {
		return killed{err: err}
	}
	return restartWorker(ctx, top, e.tp, id, &e.worker, e.workEnv)
}

// awaitScheduled follows id's history as it is written until the nth activity of type activity
// has been scheduled.
func awaitScheduled(ctx context.Context, tp *realparts.Temporal, id, activity string, nth int) error {
	for { // the run may not be started yet
		if _, err := tp.Client.DescribeWorkflowExecution(ctx, id, ""); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never started: %w", id, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	it := tp.Client.GetWorkflowHistory(ctx, id, "", true, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for seen := 0; seen < nth; {
		if !it.HasNext() {
			return fmt.Errorf("%s ended before %s #%d", id, activity, nth)
		}
		ev, err := it.Next()
		if err != nil {
			return fmt.Errorf("history of %s: %w", id, err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == activity {
			seen++
		}
	}
	return nil
}

// restartWorker kills *w with SIGKILL, notes whether run id was open then, and starts another.
func restartWorker(ctx context.Context, top *testing.T, tp *realparts.Temporal, id string, w **realparts.Worker, env []string) killed {
	d, err := tp.Client.DescribeWorkflowExecution(ctx, id, "")
	open := err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING
	(*w).Kill()
	at := time.Now()
	*w = realparts.StartWorker(top, env...)
	return killed{at: at, open: open}
}

// checkOnce: one registry version for the model, each of the run's ledger decisions once, its
// lock released, its history replaying.
func (e *env) checkOnce(t *testing.T, id, name string, rung contract.Environment) {
	t.Helper()
	var versions struct {
		ModelVersions []any `json:"model_versions"`
	}
	e.mlflowGET(t, "model-versions/search", url.Values{"filter": {fmt.Sprintf("name='%s'", name)}}, &versions)
	if len(versions.ModelVersions) != 1 {
		t.Errorf("%s: %d registry versions of %s, want 1", id, len(versions.ModelVersions), name)
	}
	g := e.gates(t, id)
	for _, want := range []string{"stage_ladder:allowed", "stage_change:promoted"} {
		if g[want] != 1 {
			t.Errorf("%s: ledger %v, want %s exactly once", id, g, want)
		}
	}
	if rung == contract.EnvProduction && (g["approval:approved"] != 1 || g["shadow_criteria:passed"] != 1) {
		t.Errorf("%s: ledger %v, want one approval and one shadow verdict", id, g)
	}
	if _, held, err := e.st.Lock(context.Background(), name, string(rung)); held || err != nil {
		t.Errorf("%s: lock %s/%s still held (%v)", id, name, rung, err)
	}
	replayRecorded(t, e.tp, id, "")
}
