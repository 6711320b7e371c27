package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/probe"
	"github.com/temporaldeployer/temporaldeployer/registry"
	"github.com/temporaldeployer/temporaldeployer/store"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
	"github.com/temporaldeployer/temporaldeployer/workflows"
)

// promoteActivities is how many activities a None → Staging promote run executes (Claim,
// ResolveModel, Record, PromoteStage, Record, Release), besides its one local activity.
const promoteActivities = 6

func noop(context.Context) error { return nil }

// bare is a workflow of the same shape as a promote run with no work in its activities.
func bare(ctx workflow.Context) error {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	if err := workflow.ExecuteLocalActivity(lctx, noop).Get(ctx, nil); err != nil {
		return err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	for i := 0; i < promoteActivities; i++ {
		if err := workflow.ExecuteActivity(actx, "noop").Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkOrchestrationOverhead compares, in one run on one dev server, the end-to-end latency of
// a real promote run (MLflow + SQLite) with a bare workflow of as many no-op activities.
func BenchmarkOrchestrationOverhead(b *testing.B) {
	tp := realparts.StartTemporal(b)
	ml := realparts.StartMLflow(b)
	model := realparts.LogSklearnModel(b, ml, "bench")
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	reg, err := registry.NewMLflow(ml)
	if err != nil {
		b.Fatal(err)
	}
	prober, _ := probe.NewHTTP(time.Second, 1, 0)
	const queue = "bench"
	w := worker.New(tp.Client, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.ModelDeployment, workflow.RegisterOptions{Name: contract.WorkflowType})
	w.RegisterActivity(&activities.Activities{Registry: reg, Store: st, Prober: prober, Policy: config.DefaultPolicy()})
	w.RegisterWorkflowWithOptions(bare, workflow.RegisterOptions{Name: "Bare"})
	w.RegisterActivityWithOptions(noop, activityName("noop"))
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	execute := func(b *testing.B, wfType string, arg func(i int) []any) {
		for i := 0; i < b.N; i++ {
			opts := client.StartWorkflowOptions{ID: fmt.Sprintf("%s-%d-%d", wfType, time.Now().UnixNano(), i), TaskQueue: queue}
			run, err := tp.Client.ExecuteWorkflow(ctx, opts, wfType, arg(i)...)
			if err != nil {
				b.Fatal(err)
			}
			if err := run.Get(ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("promote", func(b *testing.B) {
		execute(b, contract.WorkflowType, func(i int) []any {
			met := true
			return []any{contract.Input{ModelURI: model.RunsURI(), ExperimentID: model.ExperimentID,
				DeploymentName:    fmt.Sprintf("bench-%d-%d", time.Now().UnixNano()%1e9, i),
				ValidationMetrics: map[string]float64{"accuracy": 0.9}, SuccessCriteriaMet: &met,
				DeploymentAction: contract.ActionPromote}}
		})
	})
	b.Run("bare", func(b *testing.B) {
		execute(b, "Bare", func(int) []any { return nil })
	})
}

func activityName(n string) activity.RegisterOptions { return activity.RegisterOptions{Name: n} }
