package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestCodecOverhead is the measurement of issue 10's codec: promotions None → Staging on the real
// stack (dev server, MLflow, SQLite), first with payloads in the clear, then sealed with the codec
// on the worker and the client, the same number each (MEASURE_CODEC_RUNS, default 10); it reports
// the median run time of each and their ratio. A measurement, not a check: MEASURE_CODEC=1 (make
// bench) runs it.
func TestCodecOverhead(t *testing.T) {
	if os.Getenv("MEASURE_CODEC") != "1" {
		t.Skip("a measurement: MEASURE_CODEC=1 (make bench)")
	}
	runs := 10
	if n, err := fmt.Sscan(os.Getenv("MEASURE_CODEC_RUNS"), &runs); n != 1 || err != nil {
		runs = 10
	}
	keys := realparts.WriteCodecKeys(t)
	tp := realparts.StartTemporal(t)
	mlflow := realparts.StartMLflow(t)
	model := realparts.LogSklearnModel(t, mlflow, "codec-overhead")
	plain := &env{tp: tp, mlflow: mlflow, model: model, dbURL: filepath.Join(t.TempDir(), "plain.db")}
	plainEnv := []string{"TEMPORAL_ADDRESS=" + tp.Address, "MLFLOW_TRACKING_URI=" + mlflow, "DATABASE_URL=" + plain.dbURL}
	sealed := encryptedWorld(t, tp, mlflow, model, keys)
	sealed.worker.Kill() // promoteTimes starts its own
	// Blocks in turn (clear, sealed, clear, sealed): a shared machine's noise falls on both sides.
	var plainTimes, sealedTimes []time.Duration
	for block := 0; block < 2; block++ {
		plainTimes = append(plainTimes, promoteTimes(t, plain, tp.Client, fmt.Sprintf("plain%d", block), runs/2, plainEnv...)...)
		sealedTimes = append(sealedTimes, promoteTimes(t, sealed, sealed.tp.Client, fmt.Sprintf("sealed%d", block), runs/2, sealed.workEnv...)...)
	}
	p, s := median(plainTimes), median(sealedTimes)
	t.Logf("codec overhead, %d promotions to Staging each, one run: in the clear median %v (min %v), sealed median %v (min %v); sealed ÷ clear = %.3f",
		runs, p, slices.Min(plainTimes), s, slices.Min(sealedTimes), float64(s)/float64(p))
}

// promoteTimes starts a worker with env and times runs promotions None → Staging, each its own
// deployment, started and awaited through c.
func promoteTimes(t *testing.T, e *env, c client.Client, label string, runs int, env ...string) []time.Duration {
	t.Helper()
	w := realparts.StartWorker(t, env...)
	defer w.Kill()
	var times []time.Duration
	for i := 0; i < runs+1; i++ { // the first warms the worker up and is not counted
		name := fmt.Sprintf("ovh-%s-%d-%d", label, i, time.Now().UnixNano()%1e6)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		start := time.Now()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "staging-" + name, TaskQueue: contract.TaskQueue},
			contract.WorkflowType, e.input(name, contract.ActionPromote, contract.EnvStaging, false))
		var out contract.Output
		if err == nil {
			err = run.Get(ctx, &out)
		}
		cancel()
		if err != nil || out.VersionRecord.Stage != contract.StageStaging {
			t.Fatalf("%s promotion %d: %+v %v", label, i, out, err)
		}
		if i > 0 {
			times = append(times, time.Since(start))
		}
	}
	return times
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
