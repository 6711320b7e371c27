package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/packaging"
	"github.com/temporaldeployer/temporaldeployer/registry"
	"github.com/temporaldeployer/temporaldeployer/rules"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// liveRung is what the rung in progress has changed, so a failure or an abort can undo it.
type liveRung struct {
	rung      contract.Stage
	prevStage contract.Stage // stage before this run promoted the version on this rung
	promoted  bool
	deployed  bool
	// before is what the cluster ran in the environment before this run changed it (gates v3),
	// nil when nothing ran there: compensation puts it back.
	before *kube.Spec
	// archived is the version that held Production until this run took it (archived by the
	// registry): a revert gives it back.
	archived string
}

// registerModel (node 1) resolves the model URI to its registry version without changing
// anything. A URI not registered yet is at stage None: it is registered on the Staging rung, once
// validation has allowed the plan, so a denied request leaves the registry untouched.
func (w *run) registerModel(ctx workflow.Context) error {
	w.enter(ctx, NodeRegisterModel, "")
	var res activities.Resolution
	req := activities.ResolveRequest{ModelName: w.req.ModelName, ModelURI: w.req.ModelURI}
	if err := w.exec(ctx, short("register_model: resolve "+w.req.ModelURI), a.ResolveModel, req, &res); err != nil {
		w.outcome(ctx, NodeRegisterModel, "", "failed", err.Error())
		return err
	}
	w.version, w.registered = res.Version, res.Registered
	w.setStage(ctx, w.version.Stage)
	detail := fmt.Sprintf("%s version %s, stage %s", w.version.Name, w.version.Version, w.version.Stage)
	if !w.registered {
		detail = fmt.Sprintf("%s not registered yet (stage None)", w.req.ModelURI)
	}
	w.outcome(ctx, NodeRegisterModel, "", "ok", detail)
	return nil
}

// validatePromotion (node 2) applies the success gate and plans the ladder walk; both decisions go
// to the evidence ledger, denied or not.
func (w *run) validatePromotion(ctx workflow.Context) error {
	w.enter(ctx, NodeValidatePromotion, "")
	var decisions []store.Decision
	if w.req.Action != contract.ActionRollback {
		gate := rules.SuccessGate(*w.req.SuccessCriteriaMet, w.req.ValidationMetrics, w.req.ValidationThresholds)
		decisions = append(decisions, w.decision(ctx, "success_criteria", verdictWord(gate.Passed, "allowed", "denied"),
			strings.Join(gate.Failures, "; "), "caller-supplied", w.req.RequestedBy, map[string]any{
				"success_criteria_met": *w.req.SuccessCriteriaMet, "validation_metrics": w.req.ValidationMetrics,
				"validation_thresholds": w.req.ValidationThresholds}))
		if !gate.Passed {
			return w.deny(ctx, decisions, contract.ErrSuccessCriteriaNotMet, strings.Join(gate.Failures, "; "))
		}
	}
	rungs, err := rules.Rungs(w.version.Stage, w.req.Action, w.req.Environment)
	ladder := map[string]any{"current_stage": w.version.Stage, "action": w.req.Action,
		"target_environment": w.req.Environment, "rungs": rungs}
	if err != nil {
		decisions = append(decisions, w.decision(ctx, "stage_ladder", "denied", err.Error(), "registry", w.req.RequestedBy, ladder))
		return w.deny(ctx, decisions, contract.ErrPromotionDenied, err.Error())
	}
	decisions = append(decisions, w.decision(ctx, "stage_ladder", "allowed", "", "registry", w.req.RequestedBy, ladder))
	if w.gates >= gatesGovernance {
		ds, refusal, err := w.registryEvidenceGate(ctx, rungs)
		if err != nil {
			w.outcome(ctx, NodeValidatePromotion, "", "failed", err.Error())
			return err
		}
		if decisions = append(decisions, ds...); refusal != nil {
			return w.deny(ctx, decisions, contract.ErrPromotionDenied, applicationMessage(refusal))
		}
	}
	if err := w.record(ctx, store.Change{Decisions: decisions}); err != nil {
		return err
	}
	w.rungs = rungs
	w.outcome(ctx, NodeValidatePromotion, "", "ok", fmt.Sprintf("plan: %v", rungs))
	return nil
}

func (w *run) deny(ctx workflow.Context, decisions []store.Decision, errType, reason string) error {
	if err := w.record(ctx, store.Change{Decisions: decisions}); err != nil {
		return err
	}
	w.outcome(ctx, w.status.Node, "", "denied", reason)
	return contract.NewError(errType, "%s", reason)
}

// validateRung is validate_promotion for one rung: Production needs the shadow evidence and, by
// default, a human approval before anything moves.
func (w *run) validateRung(ctx workflow.Context, rung contract.Stage) error {
	w.enter(ctx, NodeValidatePromotion, rung)
	if w.version.Stage != rung && !rules.TransitionAllowed(w.version.Stage, rung) {
		reason := fmt.Sprintf("%s → %s is not on the stage ladder", w.version.Stage, rung)
		return w.deny(ctx, []store.Decision{w.decision(ctx, "stage_ladder", "denied", reason, "registry", w.req.RequestedBy, nil)},
			contract.ErrPromotionDenied, reason)
	}
	if rung != contract.StageProduction {
		if !w.needsApproval(rung.Environment()) {
			w.outcome(ctx, NodeValidatePromotion, rung, "ok", "ladder step allowed")
			return nil
		}
		if err := w.awaitSigned(ctx, rung.Environment()); err != nil { // the approver policy names it
			return err
		}
		w.outcome(ctx, NodeValidatePromotion, rung, "ok", "ladder step allowed; approved")
		return nil
	}
	if err := w.shadowGate(ctx); err != nil {
		return err
	}
	if err := w.awaitApproval(ctx, rung); err != nil {
		return err
	}
	w.outcome(ctx, NodeValidatePromotion, rung, "ok", "shadow criteria passed; approved")
	return nil
}

// awaitApproval waits for `approve` up to the approval timeout; abort ends the wait. Runs before
// gates version 6 take the approver's name as sent.
func (w *run) awaitApproval(ctx workflow.Context, rung contract.Stage) error {
	if !w.req.RequireApproval {
		d := w.decision(ctx, "approval", "waived", "require_approval=false allowed by policy", "policy", w.req.RequestedBy, nil)
		return w.record(ctx, store.Change{Decisions: []store.Decision{d}})
	}
	if w.gates >= gatesApprovalsSigned {
		return w.awaitSigned(ctx, rung.Environment())
	}
	summary := fmt.Sprintf("await approval of %s v%s for %s (deadline %s)", w.version.Name, w.version.Version, rung, w.req.ApprovalTimeout)
	ok, err := w.wait(ctx, waitApproval, summary, w.req.ApprovalTimeout, func() bool { return w.approval != nil })
	if err != nil {
		return err
	}
	if !ok {
		reason := fmt.Sprintf("no approval within %s", w.req.ApprovalTimeout)
		d := w.decision(ctx, "approval", "timed_out", reason, "signal", "", map[string]any{"timeout": w.req.ApprovalTimeout.String()})
		return w.deny(ctx, []store.Decision{d}, contract.ErrApprovalTimeout, reason)
	}
	d := w.decision(ctx, "approval", "approved", w.approval.Comment, "signal", w.approval.Approver,
		map[string]any{"approver": w.approval.Approver, "comment": w.approval.Comment})
	return w.record(ctx, store.Change{Decisions: []store.Decision{d}})
}

// promoteStage (node 3) moves the version onto the rung: registering it first if it has no
// version yet, then the stage alias and tag; the registry row and the decision are recorded.
func (w *run) promoteStage(ctx workflow.Context, rung contract.Stage) error {
	w.enter(ctx, NodePromoteStage, rung)
	if w.version.Stage == rung {
		w.outcome(ctx, NodePromoteStage, rung, "skipped", "version already in "+string(rung))
		return nil
	}
	prev := w.version.Stage
	reason := fmt.Sprintf("%s → %s by %s (%s)", prev, rung, w.info.WorkflowExecution.ID, w.req.Action)
	req := activities.PromoteRequest{
		ModelName: w.version.Name, ModelURI: w.req.ModelURI, Version: w.version.Version,
		Change: registry.StageChange{Stage: rung, Reason: reason, Actor: w.info.WorkflowExecution.ID},
		Tags: map[string]string{"temporaldeployer.experiment_id": w.req.ExperimentID,
			"temporaldeployer.deployment_name": w.req.DeploymentName, "temporaldeployer.shap_analysis_id": w.req.ShapAnalysisID},
	}
	if req.ModelName == "" {
		req.ModelName = w.req.ModelName
	}
	var v registry.Version
	if err := w.exec(ctx, short(fmt.Sprintf("promote_stage: %s %s → %s", req.ModelName, prev, rung)), a.PromoteStage, req, &v); err != nil {
		w.outcome(ctx, NodePromoteStage, rung, "failed", err.Error())
		return err
	}
	w.live = &liveRung{rung: rung, prevStage: prev, promoted: true, archived: v.Archived}
	v.Description = reason
	w.version, w.registered = v, true
	w.setStage(ctx, rung)
	actor := w.info.WorkflowExecution.ID
	ds := []store.Decision{w.decision(ctx, contract.GateStageChange, contract.VerdictPromoted, reason, contract.SourceRegistry, actor,
		map[string]any{"from": prev, "to": rung, "version": v.Version})}
	if v.Archived != "" { // seed 000's ladder: the predecessor leaves Production for Archived
		archived := fmt.Sprintf("version %s: Production → Archived, superseded by version %s", v.Archived, v.Version)
		ds = append(ds, w.decision(ctx, contract.GateStageChange, contract.VerdictArchived, archived, contract.SourceRegistry, actor,
			map[string]any{"from": contract.StageProduction, "to": contract.StageArchived, "version": v.Archived, "superseded_by": v.Version}))
	}
	if err := w.record(ctx, store.Change{Registry: w.registryEntry(ctx, ""), Decisions: ds}); err != nil {
		return err
	}
	w.outcome(ctx, NodePromoteStage, rung, "ok", reason)
	return nil
}

func (w *run) registryEntry(ctx workflow.Context, deploymentID string) *store.RegistryEntry {
	e := &store.RegistryEntry{RegisteredModelName: w.version.Name, Version: w.version.Version,
		ExperimentID: w.req.ExperimentID, ModelURI: w.req.ModelURI, Stage: string(w.version.Stage),
		DeploymentID: deploymentID, UpdatedAt: workflow.Now(ctx).UTC()}
	if deploymentID != "" {
		at := w.deployment.DeployedAt
		e.DeployedAt = &at
	}
	return e
}

// packageModel (node 4) builds the immutable artifact once per run.
func (w *run) packageModel(ctx workflow.Context) error {
	w.enter(ctx, NodePackageModel, "")
	if w.artifact.Image != "" {
		return nil
	}
	req := packaging.Request{ModelName: w.version.Name, ModelVersion: w.version.Version, ModelURI: w.req.ModelURI,
		ExperimentID: w.req.ExperimentID, BentoTag: rules.BentoTag(w.req.ExperimentID, w.version.Version)}
	if err := w.exec(ctx, long("package_model: "+req.BentoTag), a.PackageModel, req, &w.artifact); err != nil {
		w.outcome(ctx, NodePackageModel, "", "failed", err.Error())
		return err
	}
	inputs := map[string]any{"manifest": w.artifact.Manifest, "image": w.artifact.Image, "sha256": w.artifact.SHA256}
	ds := []store.Decision{w.decision(ctx, "artifact", "published", "", "packager", w.info.WorkflowExecution.ID, inputs)}
	if w.gates >= gatesGovernance {
		d, refusal := w.bentoRequirementsGate(ctx)
		if d != nil {
			ds = append(ds, *d)
		}
		if refusal != nil {
			return w.deny(ctx, ds, contract.ErrPromotionDenied, applicationMessage(refusal))
		}
	}
	if err := w.record(ctx, store.Change{Decisions: ds}); err != nil {
		return err
	}
	w.outcome(ctx, NodePackageModel, "", "ok", w.artifact.BentoTag+" → "+w.artifact.Image)
	return nil
}

func verdictWord(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}
