package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/harness"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestParkedHolds is issue 11's capacity measurement (make bench; it runs only with
// MEASURE_PARK=1): PARKED_RUNS deployments (default 10,000), each of its own model, deployed to
// the shadow environment with a 24 h hold, started against the dev server and parked in their
// hold on one worker — the parked-holds harness: the real workflow, activities, store and
// worker options, with stand-ins for the registry, packager, cluster and metrics. It reports the
// time to start them, the time until every hold runs, the worker's RSS (now and peak) and the
// SDK's workflow task failures. PARKED_WORKER_ENV adds the worker's settings (space-separated
// KEY=VALUE, e.g. DEPLOYER_WORKFLOW_CACHE_SIZE=2000).
func TestParkedHolds(t *testing.T) {
	if os.Getenv("MEASURE_PARK") != "1" {
		t.Skip("a measurement of many minutes: run with MEASURE_PARK=1 (PARKED_RUNS=n, default 10000)")
	}
	runs := 10000
	if n, err := strconv.Atoi(os.Getenv("PARKED_RUNS")); err == nil && n > 0 {
		runs = n
	}
	tp := realparts.StartTemporal(t)
	dir := t.TempDir()
	port, err := realparts.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "TEMPORAL_ADDRESS="+tp.Address, "DATABASE_URL="+filepath.Join(dir, "parked.db"),
		"DEPLOYER_LEDGER_KEY="+filepath.Join(dir, "ledger.jwk"), "PARKED_STATS_ADDR="+fmt.Sprintf("127.0.0.1:%d", port),
		"DEPLOYER_SHADOW_SAMPLE_EVERY=10m")
	env = append(env, strings.Fields(os.Getenv("PARKED_WORKER_ENV"))...)
	cmd := exec.Command(realparts.Binary(t, "parked-holds-harness"))
	logFile, err := os.Create(filepath.Join(dir, "harness.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := harness.StartTied(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { harness.StopTree(cmd.Process.Pid, 10*time.Second); _ = cmd.Wait() })
	stats := fmt.Sprintf("http://127.0.0.1:%d/stats", port)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) { // the worker is up
		if resp, err := http.Get(stats); err == nil {
			resp.Body.Close()
			break
		}
		if b, _ := os.ReadFile(logFile.Name()); time.Now().After(deadline) {
			t.Fatalf("the parked-holds harness never served its stats:\n%s", b)
		}
	}

	began := time.Now()
	startParked(t, tp.Client, runs)
	started := time.Since(began)
	var last parkedStats
	for deadline := time.Now().Add(90 * time.Minute); ; time.Sleep(5 * time.Second) {
		last = readParkedStats(t, stats)
		if last.Holding >= int64(runs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d holds running after 90 min: %+v", last.Holding, runs, last)
		}
		noneClosed(t, tp.Client)
		t.Logf("%s: %d holds running, worker RSS %d MB", time.Since(began).Round(time.Second), last.Holding, rssMB(t, cmd.Process.Pid, "VmRSS"))
	}
	parked := time.Since(began)
	time.Sleep(30 * time.Second) // three heartbeat periods with every hold running
	last = readParkedStats(t, stats)
	t.Logf("%d deployments parked in their shadow hold on one worker: started in %s, all holding after %s; "+
		"worker RSS %d MB (peak %d MB) 30 s later; workflow task failures %d, activity failures %d; %d holding",
		runs, started.Round(time.Second), parked.Round(time.Second), rssMB(t, cmd.Process.Pid, "VmRSS"), rssMB(t, cmd.Process.Pid, "VmHWM"),
		last.Counters["temporal_workflow_task_execution_failed"], last.Counters["temporal_activity_execution_failed"], last.Holding)
}

// noneClosed fails the measurement when a run has ended: every one must be parked in its hold.
func noneClosed(t *testing.T, c client.Client) {
	t.Helper()
	ctx := context.Background()
	n, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: "ExecutionStatus != 'Running'"})
	if err != nil || n.GetCount() == 0 {
		return
	}
	list, _ := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "ExecutionStatus != 'Running'", PageSize: 1})
	for _, e := range list.GetExecutions() {
		var out contract.Output
		err = c.GetWorkflow(ctx, e.GetExecution().GetWorkflowId(), "").Get(ctx, &out)
		t.Fatalf("%d runs ended instead of holding; %s: %v", n.GetCount(), e.GetExecution().GetWorkflowId(), err)
	}
}

type parkedStats struct {
	Holding  int64            `json:"holding"`
	Counters map[string]int64 `json:"counters"`
}

// startParked starts runs shadow deploys, 32 at a time.
func startParked(t *testing.T, c client.Client, runs int) {
	t.Helper()
	var next atomic.Int64
	yes := true
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(runs); i = next.Add(1) {
				name := fmt.Sprintf("parked-%05d", i)
				in := contract.Input{ModelURI: "runs:/parked" + strconv.FormatInt(i, 10) + "/model", ExperimentID: "0", DeploymentName: name,
					ValidationMetrics: map[string]float64{"accuracy": 0.93}, SuccessCriteriaMet: &yes,
					DeploymentAction: contract.ActionDeploy, TargetEnvironment: contract.EnvShadow, RequestedBy: "bench@example.com"}
				if _, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: name, TaskQueue: contract.TaskQueue},
					contract.WorkflowType, in); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func readParkedStats(t *testing.T, url string) parkedStats {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("harness stats: %v", err)
	}
	defer resp.Body.Close()
	var s parkedStats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// rssMB reads a memory figure (VmRSS, VmHWM) of pid from /proc, in MB.
func rssMB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb / 1024
		}
	}
	return -1
}
