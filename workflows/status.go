package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// enter marks a node as current in the status query and the Web UI's current details.
func (w *run) enter(ctx workflow.Context, node string, rung contract.Stage) {
	w.status.Node = node
	detail := node
	if rung != "" {
		detail += " (" + string(rung) + " rung)"
	}
	workflow.SetCurrentDetails(ctx, detail)
	workflow.GetLogger(ctx).Info("node", "node", node, "rung", rung,
		"deployment", w.req.DeploymentName, "version", w.version.Version)
}

// outcome appends one node result to the status query's history.
func (w *run) outcome(ctx workflow.Context, node string, rung contract.Stage, outcome, detail string) {
	w.status.Nodes = append(w.status.Nodes, contract.NodeOutcome{
		Node: node, Rung: rung, Outcome: outcome, Detail: detail, At: workflow.Now(ctx).UTC(),
	})
}

// setStage keeps the status and the DeploymentStage search attribute current.
func (w *run) setStage(ctx workflow.Context, s contract.Stage) {
	w.status.Stage = s
	w.version.Stage = s
	w.upsertSearchAttributes(ctx)
}

func (w *run) upsertSearchAttributes(ctx workflow.Context) {
	updates := []temporal.SearchAttributeUpdate{
		contract.SADeploymentName.ValueSet(w.req.DeploymentName),
		contract.SATargetEnvironment.ValueSet(string(w.req.Environment)),
	}
	if w.status.Stage != "" {
		updates = append(updates, contract.SADeploymentStage.ValueSet(string(w.status.Stage)))
	}
	if w.version.Version != "" {
		updates = append(updates, contract.SAModelVersion.ValueSet(w.version.Name+"/"+w.version.Version))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

func (w *run) deploymentID(env contract.Environment) string {
	return fmt.Sprintf("%s-%s-%s", w.req.DeploymentName, env, w.info.WorkflowExecution.RunID)
}

// output assembles seed 000's ModelDeployerOutput.
func (w *run) output() contract.Output {
	out := contract.Output{
		VersionRecord: contract.VersionRecord{
			RegisteredModelName: w.version.Name, Version: w.version.Version,
			Stage: w.version.Stage, Description: w.version.Description,
		},
		BentoMLTag:        w.artifact.BentoTag,
		HealthCheckPassed: w.health,
		RollbackAvailable: w.rollback.Available,
	}
	d := w.deployment
	out.DeploymentManifest = contract.DeploymentManifest{
		DeploymentID: d.DeploymentID, ExperimentID: w.req.ExperimentID, ModelVersion: w.version.Version,
		Environment: w.req.Environment, Resources: w.req.Resources, EndpointURL: d.EndpointURL,
		Status: d.Status, Image: d.Image,
	}
	if d.DeploymentID != "" {
		at := d.DeployedAt
		out.DeploymentManifest.DeployedAt = &at
		out.DeploymentManifest.HealthCheckURL = w.rollout.HealthURL
		out.DeploymentManifest.MetricsURL = w.rollout.MetricsURL
	}
	switch w.req.Action {
	case contract.ActionPromote:
		out.Status = contract.StatusPromoted
		out.DeploymentManifest.Status = contract.StatusPromoted
	case contract.ActionRollback:
		out.Status = contract.StatusRolledBack
		out.DeploymentSuccessful = w.health
	default:
		out.Status = contract.StatusDeployed
		out.DeploymentSuccessful = w.health
	}
	return out
}
