package telemetry

import (
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// Outcomes is a worker interceptor that counts each finished ModelDeployment run by its outcome
// and times it (RecordDeployment), where the outcome is known without touching the workflow: it
// adds no command, and the workflow's metrics handler records nothing while a run replays, so a
// run replayed on another worker is not counted twice.
func Outcomes() interceptor.WorkerInterceptor { return &outcomes{} }

type outcomes struct {
	interceptor.WorkerInterceptorBase
}

func (*outcomes) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &outcomeInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type outcomeInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (o *outcomeInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	out, err := o.Next.ExecuteWorkflow(ctx, in)
	info := workflow.GetInfo(ctx)
	if info.WorkflowType.Name != contract.WorkflowType || workflow.IsReplaying(ctx) {
		return out, err
	}
	if _, ok := err.(*workflow.ContinueAsNewError); ok { // not finished: goes on in a new run
		return out, err
	}
	var req contract.Input
	if len(in.Args) > 0 {
		req, _ = in.Args[0].(contract.Input)
	}
	RecordDeployment(workflow.GetMetricsHandler(ctx), req, err, workflow.Now(ctx).Sub(info.WorkflowStartTime))
	return out, err
}
