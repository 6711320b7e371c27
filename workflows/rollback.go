package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/registry"
	"github.com/temporaldeployer/temporaldeployer/rules"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// approveRollback waits, from gates version 6, for the approvals the policy needs before the
// environment is rolled back to target, as before a promotion to it: the approval names the
// version to be restored.
func (w *run) approveRollback(ctx workflow.Context, target store.Deployment) error {
	if w.gates < gatesApprovalsSigned || !w.needsApproval(w.req.Environment) {
		return nil
	}
	w.version = registry.Version{Name: target.ModelName, Version: target.ModelVersion, Stage: contract.Stage(target.Stage)}
	w.enter(ctx, NodeValidatePromotion, "")
	if err := w.awaitSigned(ctx, w.req.Environment); err != nil {
		return err
	}
	w.enter(ctx, NodeDeployToEndpoint, "")
	return nil
}

// specOf rebuilds the spec of a recorded deployment, to restore it.
// The store does not keep batch size and latency: the restored workload gets this request's.
func specOf(d store.Deployment, workflowID string, batch, latencyMS int) *kube.Spec {
	set, _ := rules.SettingsFor(contract.Environment(d.Environment))
	return &kube.Spec{
		Scaling: kube.Scaling{Replicas: set.Replicas, MinReplicas: set.MinReplicas, MaxReplicas: set.MaxReplicas,
			TargetCPUPercent: set.TargetCPUPercent}, DeploymentName: d.DeploymentName, Environment: d.Environment, Role: kube.RoleStable,
		Image: d.Image, ModelName: d.ModelName, ModelVersion: d.ModelVersion, Stage: d.Stage,
		DeploymentID: d.DeploymentID, WorkflowID: workflowID, MaxBatchSize: batch, MaxLatencyMS: latencyMS,
		Resources: map[string]string{"cpu": d.CPULimit, "memory": d.MemoryLimit}}
}

// rollbackEnvironment is the rollback action: the environment's newest known-good deployment is
// taken to be the one serving now; the one before it is restored, probed and recorded as the new
// known-good, and the replaced one is marked rolled back.
func (w *run) rollbackEnvironment(ctx workflow.Context) error {
	w.enter(ctx, NodeDeployToEndpoint, "")
	env := string(w.req.Environment)
	var current, target activities.RollbackInfo
	q := activities.RollbackQuery{DeploymentName: w.req.DeploymentName, Environment: env}
	if err := w.exec(ctx, short("find current deployment"), a.CheckRollbackAvailability, q, &current); err != nil {
		return err
	}
	currentID := current.Target.DeploymentID
	if current.Deployed != nil {
		currentID = current.Deployed.DeploymentID
	}
	q.ExcludeID = currentID
	if err := w.exec(ctx, short("find last known-good"), a.CheckRollbackAvailability, q, &target); err != nil {
		return err
	}
	if !current.Available || !target.Available {
		reason := fmt.Sprintf("%s/%s has no earlier known-good deployment to restore", w.req.DeploymentName, env)
		return w.deny(ctx, []store.Decision{w.decision(ctx, "rollback", "denied", reason, "records", w.req.RequestedBy, nil)},
			contract.ErrNoKnownGood, reason)
	}
	if err := w.approveRollback(ctx, target.Target); err != nil {
		return err
	}
	to := specOf(target.Target, w.info.WorkflowExecution.ID, w.req.MaxBatchSize, w.req.MaxLatencyMS)
	to.DeploymentID = w.deploymentID(w.req.Environment)
	var ro kube.Rollout
	req := activities.RestoreRequest{DeploymentName: w.req.DeploymentName, Environment: env, To: to}
	if err := w.exec(ctx, long("restore v"+to.ModelVersion+" on "+env), a.RestoreWorkload, req, &ro); err != nil {
		w.outcome(ctx, NodeDeployToEndpoint, "", "failed", err.Error())
		return err
	}
	w.version = registry.Version{Name: target.Target.ModelName, Version: target.Target.ModelVersion, Stage: contract.Stage(target.Target.Stage)}
	w.deployment = target.Target
	w.deployment.DeploymentID, w.deployment.WorkflowID, w.deployment.RunID = to.DeploymentID, w.info.WorkflowExecution.ID, w.info.WorkflowExecution.RunID
	w.deployment.EndpointName, w.deployment.EndpointURL = ro.EndpointName, ro.EndpointURL
	w.deployment.DeployedAt, w.deployment.DeployedBy = workflow.Now(ctx).UTC(), w.req.RequestedBy
	w.rollout = ro
	w.outcome(ctx, NodeDeployToEndpoint, "", "ok", "restored "+target.Target.DeploymentID)
	if err := w.checkHealth(ctx, ""); err != nil {
		return err
	}
	replaced := current.Target
	if replaced.DeploymentID != currentID { // the cluster ran something the newest record is not
		replaced = store.Deployment{DeploymentID: currentID, DeploymentName: w.req.DeploymentName, Environment: env,
			ModelName: current.Deployed.ModelName, ModelVersion: current.Deployed.ModelVersion, Image: current.Deployed.Image,
			Stage: current.Deployed.Stage, DeployedAt: workflow.Now(ctx).UTC()}
	}
	replaced.Status = store.StatusRolledBack
	w.deployment.Status = store.StatusHealthy
	d := w.decision(ctx, "rollback", "restored", "restored "+target.Target.DeploymentID+" over "+replaced.DeploymentID,
		"records", w.req.RequestedBy, map[string]any{"from": replaced.DeploymentID, "to": target.Target.DeploymentID})
	if err := w.record(ctx, store.Change{Deployment: &replaced, Decisions: []store.Decision{d}}); err != nil {
		return err
	}
	if err := w.record(ctx, store.Change{Deployment: &w.deployment}); err != nil {
		return err
	}
	return w.checkRollbackAvailability(ctx)
}

// compensate undoes what the failed rung changed: traffic goes back to the last known-good (or
// the candidate is removed when there is none), the version goes back to its previous stage, and
// the ledger records why. rules.Rungs completed earlier in the run stay as they are.
func (w *run) compensate(ctx workflow.Context, cause error) error {
	verdict := verdictWord(w.abort != nil, "aborted", "failed")
	var inputs map[string]any
	if w.status.IgnoredSignals > 0 {
		inputs = map[string]any{"ignored_signals": w.status.IgnoredSignals}
	}
	decisions := []store.Decision{w.decision(ctx, contract.GateRunOutcome, verdict, cause.Error(), contract.SourceWorkflow, w.actor(), inputs)}
	lv := w.live
	if lv == nil {
		w.outcome(ctx, w.status.Node, "", verdict, cause.Error())
		return w.record(ctx, store.Change{Decisions: decisions})
	}
	env := lv.rung.Environment()
	if lv.deployed {
		if err := w.restoreKnownGood(ctx, env, lv.before); err != nil {
			return err
		}
		w.deployment.Status = verdictWord(w.abort != nil, store.StatusAborted, store.StatusRolledBack)
		w.status.CanaryWeight = 0
	}
	change := store.Change{Decisions: decisions}
	if lv.deployed {
		change.Deployment = &w.deployment
	}
	if lv.promoted {
		req := activities.PromoteRequest{ModelName: w.version.Name, Version: w.version.Version,
			Change: registry.StageChange{Stage: lv.prevStage, Actor: w.info.WorkflowExecution.ID, Restore: lv.archived,
				Reason: fmt.Sprintf("reverted %s → %s: %s", lv.rung, lv.prevStage, verdict)}}
		var v registry.Version
		if err := w.exec(ctx, short("revert stage to "+string(lv.prevStage)), a.PromoteStage, req, &v); err != nil {
			return err
		}
		w.setStage(ctx, lv.prevStage)
		change.Registry = w.registryEntry(ctx, "")
		change.Decisions = append(change.Decisions, w.decision(ctx, contract.GateStageChange, contract.VerdictReverted, req.Change.Reason,
			contract.SourceRegistry, w.info.WorkflowExecution.ID, map[string]any{"from": lv.rung, "to": lv.prevStage}))
		if v.Restored != "" {
			change.Decisions = append(change.Decisions, w.decision(ctx, contract.GateStageChange, contract.VerdictRestored,
				fmt.Sprintf("version %s: Archived → Production, given back by the revert", v.Restored), contract.SourceRegistry,
				w.info.WorkflowExecution.ID, map[string]any{"from": contract.StageArchived, "to": contract.StageProduction, "version": v.Restored}))
		}
	}
	w.live = nil
	w.outcome(ctx, w.status.Node, lv.rung, verdict, cause.Error()+"; rolled back")
	return w.record(ctx, change)
}

// restoreKnownGood sends the environment back to what ran there before this run (before, read
// from the cluster; gates v3) or else to its last known-good row, and checks it answers. With
// neither, everything in the environment is this run's, and it is removed.
func (w *run) restoreKnownGood(ctx workflow.Context, env contract.Environment, before *kube.Spec) error {
	var known activities.RollbackInfo
	if before == nil || w.gates < gatesFastAbort { // what ran before is known: restore it first
		var err error
		if known, err = w.findRunning(ctx, env, "find last known-good"); err != nil {
			return err
		}
	}
	req := activities.RestoreRequest{DeploymentName: w.req.DeploymentName, Environment: string(env)}
	restored, from := known.Target.DeploymentID, "records"
	switch {
	case before != nil:
		to := *before
		req.To, restored, from = &to, before.DeploymentID, "cluster"
	case known.Available:
		req.To = specOf(known.Target, w.info.WorkflowExecution.ID, w.req.MaxBatchSize, w.req.MaxLatencyMS)
	}
	var ro kube.Rollout
	if err := w.exec(ctx, long("rollback "+req.DeploymentName+"/"+req.Environment), a.RestoreWorkload, req, &ro); err != nil {
		return err
	}
	if req.To == nil {
		return nil
	}
	res, err := w.probe(ctx, "verify rollback", w.target(ro))
	if err != nil {
		return err
	}
	details := map[string]any{"restored": restored, "probe": res, "canary_weight_read_back": ro.CanaryWeight}
	if w.gates >= gatesOwnedOnly {
		details["restored_from"] = from
	}
	d := w.decision(ctx, "rollback_verified", verdictWord(res.Healthy, "passed", "failed"), res.Error, "measured", "", details)
	return w.record(ctx, store.Change{Decisions: []store.Decision{d}})
}

func (w *run) actor() string {
	if w.abort != nil {
		return w.abort.RequestedBy
	}
	return w.info.WorkflowExecution.ID
}
