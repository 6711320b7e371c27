// Package workflows holds the ModelDeployment workflow — deterministic code that reads as seed
// 000's seven nodes — and the pure rules it applies (stage ladder, gates, shadow criteria,
// environment settings, canary steps), each table-tested.
package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/packaging"
	"github.com/temporaldeployer/temporaldeployer/registry"
	"github.com/temporaldeployer/temporaldeployer/rules"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// The seven nodes (seed 000).
const (
	NodeRegisterModel     = "register_model"
	NodeValidatePromotion = "validate_promotion"
	NodePromoteStage      = "promote_stage"
	NodePackageModel      = "package_model"
	NodeDeployToEndpoint  = "deploy_to_endpoint"
	NodeCheckHealth       = "check_health"
	NodeCheckRollback     = "check_rollback_availability"
)

// a is the activities' nil receiver: the workflow names activities through it.
var a *activities.Activities

// run is one deployment's state.
type run struct {
	in         contract.Input
	req        Request
	policy     config.Policy
	info       *workflow.Info
	status     contract.Status
	approval   *contract.ApproveSignal // runs before gates version 6
	abort      *contract.AbortSignal
	awaiting   *approvalWait    // the environment waiting for signed approvals (approvals.go)
	rejections []store.Decision // rejected approvals not yet in the ledger (bounded)
	// rejectedOutside counts the rejections outside any approval wait noted for the ledger.
	rejectedOutside int

	version      registry.Version
	registered   bool
	rungs        []contract.Stage
	artifact     packaging.Artifact
	live         *liveRung   // what this run changed on the rung in progress, to undo on failure
	rungLock     *store.Lock // the rung's environment lock, when it is not the target's (locks.go)
	deployment   store.Deployment
	health       bool
	rollout      kube.Rollout // where the rung's workload answers
	rollback     activities.RollbackInfo
	ledger       ledger
	gates        workflow.Version      // which gates this run uses (versions.go)
	compensating bool                  // compensation runs: nothing may abort it
	compensateBy time.Time             // when compensation gives up (gates v6), zero: never
	shadowEv     *rules.ShadowEvidence // measured on this run's Shadow rung
	evidence     *governedEvidence     // the registry evidence the plan was judged on (gates v7)
}

// ModelDeployment takes a model version from the registry towards production, one validated rung
// at a time. It is registered under contract.WorkflowType.
func ModelDeployment(ctx workflow.Context, in contract.Input) (contract.Output, error) {
	w := &run{in: in, info: workflow.GetInfo(ctx)}
	w.status = contract.Status{WorkflowID: w.info.WorkflowExecution.ID, Action: in.DeploymentAction,
		Environment: in.TargetEnvironment, Nodes: []contract.NodeOutcome{}}
	if err := workflow.SetQueryHandler(ctx, contract.QueryStatus, func() (contract.Status, error) {
		return w.status, nil
	}); err != nil {
		return contract.Output{}, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateApprove, w.approveUpdate,
		workflow.UpdateHandlerOptions{Validator: w.validateApproval}); err != nil {
		return contract.Output{}, err
	}
	w.listenForSignals(ctx)
	return w.execute(ctx)
}

func (w *run) execute(ctx workflow.Context) (contract.Output, error) {
	w.gates = gatesVersion(ctx)
	if err := w.loadPolicy(ctx); err != nil {
		return contract.Output{}, err
	}
	req, err := normalizeAt(w.in, w.policy, w.gates)
	if err != nil {
		w.outcome(ctx, "validate_input", "", "failed", err.Error())
		return contract.Output{}, err
	}
	w.req = req
	defer w.recordRejections(ctx) // approvals rejected outside an approval wait, however the run ends
	w.status.Action, w.status.Environment = req.Action, req.Environment
	w.upsertSearchAttributes(ctx)
	if err := w.preflight(); err != nil {
		w.outcome(ctx, "preflight", "", "failed", err.Error())
		return contract.Output{}, err
	}
	lock := store.Lock{DeploymentName: req.DeploymentName, Environment: string(req.Environment),
		WorkflowID: w.info.WorkflowExecution.ID}
	if err := w.exec(ctx, short("claim "+lockName(lock)), a.Claim, lock, nil); err != nil {
		w.outcome(ctx, "claim", "", "failed", err.Error())
		return contract.Output{}, err
	}
	defer w.release(ctx, lock)
	defer w.releaseRung(ctx) // after a failed rung's compensation

	err = w.nodes(ctx)
	if err != nil {
		err = w.fail(ctx, err)
		return contract.Output{}, err
	}
	return w.output(), nil
}

// nodes runs seed 000's graph: each node stops the run on error; promote stops after
// promote_stage; a health check always follows a deployment.
func (w *run) nodes(ctx workflow.Context) error {
	if err := w.registerModel(ctx); err != nil {
		return err
	}
	if err := w.validatePromotion(ctx); err != nil {
		return err
	}
	if w.req.Action == contract.ActionRollback {
		return w.rollbackEnvironment(ctx)
	}
	for _, rung := range w.rungs {
		if err := w.walkRung(ctx, rung); err != nil {
			return err
		}
	}
	if w.req.Action == contract.ActionPromote {
		return nil
	}
	return w.checkRollbackAvailability(ctx)
}

// walkRung validates, promotes and (for deploy) packages, deploys and probes one rung.
func (w *run) walkRung(ctx workflow.Context, rung contract.Stage) error {
	if err := w.validateRung(ctx, rung); err != nil {
		return err
	}
	if err := w.claimRung(ctx, rung); err != nil {
		return err
	}
	if err := w.promoteStage(ctx, rung); err != nil {
		return err
	}
	if w.req.Action == contract.ActionPromote {
		return nil
	}
	if err := w.packageModel(ctx); err != nil {
		return err
	}
	if err := w.deployToEndpoint(ctx, rung); err != nil {
		return err
	}
	if err := w.checkHealth(ctx, rung); err != nil {
		return err
	}
	if err := w.finishRung(ctx, rung); err != nil {
		return err
	}
	w.releaseRung(ctx)
	return nil
}

func (w *run) loadPolicy(ctx workflow.Context) error {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	return workflow.ExecuteLocalActivity(lctx, a.LoadPolicy).Get(lctx, &w.policy)
}

// preflight refuses, before any side effect, a run that needs a backend the worker lacks (or,
// from gates version 6, production approvals from a worker with no approver policy).
func (w *run) preflight() error {
	if w.gates >= gatesApprovalsSigned && w.req.RequireApproval && w.req.Environment == contract.EnvProduction &&
		!w.policy.Approvals.Configured() {
		return contract.NewError(contract.ErrBackendNotConfigured,
			"no approver policy is configured on this worker (DEPLOYER_APPROVERS_FILE); a %s to production needs signed approvals", w.req.Action)
	}
	if w.req.Action == contract.ActionPromote {
		return nil
	}
	needed := "a " + string(w.req.Action) + " run"
	if w.req.Action == contract.ActionDeploy && !w.policy.Backends.Packager {
		return contract.NewError(contract.ErrBackendNotConfigured,
			"packaging backend is not configured on this worker; %s needs it (package_model)", needed)
	}
	if !w.policy.Backends.Cluster {
		return contract.NewError(contract.ErrBackendNotConfigured,
			"cluster backend is not configured on this worker; %s needs it (deploy_to_endpoint)", needed)
	}
	measured := w.req.Environment == contract.EnvShadow || w.req.Environment == contract.EnvProduction
	if w.gates >= gatesMeasured && w.req.Action == contract.ActionDeploy && measured && !w.policy.Backends.Metrics {
		return contract.NewError(contract.ErrBackendNotConfigured,
			"metrics backend is not configured on this worker (DEPLOYER_PROMETHEUS_URL); a deploy to %s needs it "+
				"(the shadow hold and the canary analysis measure the workloads)", w.req.Environment)
	}
	return nil
}

// fail undoes what the failed rung changed, records the outcome and returns the contract error.
func (w *run) fail(ctx workflow.Context, cause error) error {
	if w.abort != nil && !isType(cause, contract.ErrAborted) {
		cause = w.abortError()
	}
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	w.compensating = w.gates >= gatesMeasured // from here on nothing aborts, and every step retries until done
	if w.gates >= gatesApprovalsSigned && w.policy.CompensationTimeout > 0 {
		now := workflow.Now(ctx).UTC()
		w.compensateBy = now.Add(w.policy.CompensationTimeout)
		w.status.Compensation = fmt.Sprintf("running since %s, until %s", now.Format(time.RFC3339), w.compensateBy.Format(time.RFC3339))
	}
	err := w.compensate(dctx, cause)
	if err == nil {
		if w.status.Compensation != "" {
			w.status.Compensation = "done"
		}
		return cause
	}
	workflow.GetLogger(ctx).Error("compensation failed", "error", err)
	if w.compensateBy.IsZero() {
		return cause // runs before gates version 6: logged only
	}
	return w.compensationFailed(dctx, cause, err)
}

// compensationFailed ends a run whose compensation gave up: the status and the ledger say so, the
// deployment row is marked failed, and the error tells the caller an operator is needed.
func (w *run) compensationFailed(ctx workflow.Context, cause, err error) error {
	detail := fmt.Sprintf("%v; compensation failed: %v", cause, err)
	w.status.Compensation = "failed: " + err.Error() + "; needs an operator"
	w.outcome(ctx, w.status.Node, "", "compensation_failed", detail)
	change := store.Change{Decisions: []store.Decision{w.decision(ctx, contract.GateRunOutcome, "compensation_failed", detail,
		contract.SourceWorkflow, w.actor(), map[string]any{"cause": cause.Error(), "compensation": err.Error()})}}
	if w.live != nil && w.live.deployed {
		w.deployment.Status = store.StatusFailed
		change.Deployment = &w.deployment
	}
	w.compensateBy = workflow.Now(ctx).Add(10 * time.Minute) // the record gets its own short bound
	if rerr := w.record(ctx, change); rerr != nil {
		workflow.GetLogger(ctx).Error("compensation failure not recorded", "error", rerr)
	}
	return contract.NewError(contract.ErrCompensationFailed, "%s", detail)
}

// recordRejections writes the rejected approvals no approval wait has recorded yet.
func (w *run) recordRejections(ctx workflow.Context) {
	decisions := w.takeRejections()
	if len(decisions) == 0 {
		return
	}
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	if err := w.record(dctx, store.Change{Decisions: decisions}); err != nil {
		workflow.GetLogger(ctx).Error("rejected approvals not recorded", "error", err)
	}
}

func (w *run) release(ctx workflow.Context, lock store.Lock) {
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	if err := w.exec(dctx, short("release "+lockName(lock)), a.Release, lock, nil); err != nil {
		workflow.GetLogger(ctx).Error("release lock failed", "error", err)
	}
}

func (w *run) abortError() error {
	return contract.NewError(contract.ErrAborted, "aborted by %s: %s", w.abort.RequestedBy, w.abort.Reason)
}

func isType(err error, errType string) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == errType
}

func lockName(l store.Lock) string { return l.DeploymentName + "/" + l.Environment }
