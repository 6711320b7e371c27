package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/probe"
	"github.com/temporaldeployer/temporaldeployer/rules"
	"github.com/temporaldeployer/temporaldeployer/store"
)

func (w *run) spec(env contract.Environment, role kube.Role) kube.Spec {
	set, _ := rules.SettingsFor(env)
	return kube.Spec{
		Scaling: kube.Scaling{Replicas: set.Replicas, MinReplicas: set.MinReplicas, MaxReplicas: set.MaxReplicas,
			TargetCPUPercent: set.TargetCPUPercent},
		DeploymentName: w.req.DeploymentName, Environment: string(env), Role: role, Image: w.artifact.Image,
		ModelName: w.version.Name, ModelVersion: w.version.Version, Stage: string(env.Stage()),
		DeploymentID: w.deploymentID(env), WorkflowID: w.info.WorkflowExecution.ID, Resources: w.req.Resources,
		MaxBatchSize: w.req.MaxBatchSize, MaxLatencyMS: w.req.MaxLatencyMS,
	}
}

// deployToEndpoint (node 5) rolls the artifact out on the rung's environment: staging directly,
// shadow as a mirror-fed workload, production through the canary steps.
func (w *run) deployToEndpoint(ctx workflow.Context, rung contract.Stage) error {
	w.enter(ctx, NodeDeployToEndpoint, rung)
	env := rung.Environment()
	settings, _ := rules.SettingsFor(env)
	if w.live == nil { // a redeploy on the rung the version already holds: nothing was promoted
		w.live = &liveRung{rung: rung, prevStage: w.version.Stage}
	}
	var known *activities.RollbackInfo
	if w.gates >= gatesOwnedOnly { // read before anything changes: a failed read leaves nothing to undo
		found, err := w.findRunning(ctx, env, "find what "+string(env)+" runs")
		if err != nil {
			w.outcome(ctx, NodeDeployToEndpoint, rung, "failed", err.Error())
			return err
		}
		if d := found.Deployed; d != nil && d.DeploymentID != w.deploymentID(env) {
			w.live.before = d
		}
		known = &found
	}
	w.live.deployed = true
	w.deployment = store.Deployment{
		DeploymentID: w.deploymentID(env), DeploymentName: w.req.DeploymentName, Environment: string(env),
		ModelName: w.version.Name, ModelVersion: w.version.Version, ExperimentID: w.req.ExperimentID,
		Stage: string(rung), Status: store.StatusInProgress, Replicas: settings.Replicas,
		CPULimit: w.req.Resources["cpu"], MemoryLimit: w.req.Resources["memory"],
		Autoscaling: map[string]any{"min_replicas": settings.MinReplicas, "max_replicas": settings.MaxReplicas,
			"target_cpu_percent": settings.TargetCPUPercent},
		BentoTag: w.artifact.BentoTag, Image: w.artifact.Image, Manifest: w.artifact.Manifest,
		WorkflowID: w.info.WorkflowExecution.ID, RunID: w.info.WorkflowExecution.RunID,
		DeployedBy: w.req.RequestedBy, DeployedAt: workflow.Now(ctx).UTC(),
	}
	if err := w.record(ctx, store.Change{Deployment: &w.deployment}); err != nil {
		return err
	}
	var ro kube.Rollout
	var err error
	switch rung {
	case contract.StageProduction:
		ro, err = w.canary(ctx, env, known)
	case contract.StageShadow:
		ro, err = w.deployWorkload(ctx, w.spec(env, kube.RoleShadow))
	default:
		ro, err = w.deployWorkload(ctx, w.spec(env, kube.RoleStable))
	}
	if err != nil {
		w.outcome(ctx, NodeDeployToEndpoint, rung, "failed", err.Error())
		return err
	}
	w.deployment.EndpointName, w.deployment.EndpointURL = ro.EndpointName, ro.EndpointURL
	w.deployment.DurationSeconds = workflow.Now(ctx).Sub(w.deployment.DeployedAt).Seconds()
	w.rollout = ro
	w.outcome(ctx, NodeDeployToEndpoint, rung, "ok", ro.EndpointURL)
	return nil
}

// findRunning reads the environment's last known-good row and what the cluster runs there.
func (w *run) findRunning(ctx workflow.Context, env contract.Environment, summary string) (activities.RollbackInfo, error) {
	var known activities.RollbackInfo
	q := activities.RollbackQuery{DeploymentName: w.req.DeploymentName, Environment: string(env), ExcludeID: w.deploymentID(env)}
	err := w.exec(ctx, short(summary), a.CheckRollbackAvailability, q, &known)
	return known, err
}

func (w *run) deployWorkload(ctx workflow.Context, s kube.Spec) (kube.Rollout, error) {
	var ro kube.Rollout
	summary := fmt.Sprintf("deploy_to_endpoint: %s %s/%s v%s", s.Role, s.DeploymentName, s.Environment, s.ModelVersion)
	err := w.exec(ctx, long(summary), a.DeployWorkload, s, &ro)
	return ro, err
}

// canary walks the production traffic weights (seed 002: 5 → 20 → 50 → 100), holding and
// analysing the canary at each step, then promotes it. The first production deployment, with no
// stable workload to split traffic with, goes straight to stable. known is what production runs
// (gates v3, read by deployToEndpoint): a stable the cluster runs with no known-good row in the
// store (another store, a wiped one, a deployment made by hand) is canaried against too.
func (w *run) canary(ctx workflow.Context, env contract.Environment, known *activities.RollbackInfo) (kube.Rollout, error) {
	if known == nil {
		found, err := w.findRunning(ctx, env, "find stable production deployment")
		if err != nil {
			return kube.Rollout{}, err
		}
		known = &found
	}
	first := !known.Available
	if w.gates >= gatesOwnedOnly {
		first = !known.Available && known.Deployed == nil
	}
	if first {
		w.outcome(ctx, NodeDeployToEndpoint, contract.StageProduction, "ok", "first production deployment: no stable to canary against")
		return w.deployWorkload(ctx, w.spec(env, kube.RoleStable))
	}
	if !known.Available {
		w.outcome(ctx, NodeDeployToEndpoint, contract.StageProduction, "ok", fmt.Sprintf(
			"no known-good row in the store: canary against the stable the cluster runs (%s, v%s)",
			known.Deployed.DeploymentID, known.Deployed.ModelVersion))
	}
	ro, err := w.deployWorkload(ctx, w.spec(env, kube.RoleCanary))
	if err != nil {
		return ro, err
	}
	for _, weight := range w.req.CanarySteps {
		if err := w.canaryStep(ctx, env, weight, ro); err != nil {
			return ro, err
		}
	}
	wr := activities.WeightRequest{DeploymentName: w.req.DeploymentName, Environment: string(env), Weight: 100}
	var promoted kube.Rollout
	if err := w.exec(ctx, long("promote canary to stable"), a.PromoteCanary, wr, &promoted); err != nil {
		return ro, err
	}
	// The promoted version serves behind the environment's Service now: that is what the run
	// records and health-checks (the canary's Service is empty after the scale-down delay).
	// Promotions recorded before PromoteCanary returned it carry no rollout and replay as they ran.
	if promoted.EndpointURL != "" {
		return promoted, nil
	}
	return ro, nil
}

func (w *run) canaryStep(ctx workflow.Context, env contract.Environment, weight int, ro kube.Rollout) error {
	wr := activities.WeightRequest{DeploymentName: w.req.DeploymentName, Environment: string(env), Weight: weight}
	if err := w.exec(ctx, long(fmt.Sprintf("canary weight %d%%", weight)), a.SetTrafficWeight, wr, nil); err != nil {
		return err
	}
	w.status.CanaryWeight = weight
	if w.gates < gatesMeasured {
		return w.legacyCanaryStep(ctx, weight, ro)
	}
	return w.analyseStep(ctx, env, weight, ro)
}

func (w *run) probe(ctx workflow.Context, summary string, t probe.Target) (probe.Result, error) {
	var res probe.Result
	err := w.exec(ctx, probing(summary+": "+t.HealthURL), a.CheckHealth, t, &res)
	return res, err
}

// checkHealth (node 6) probes what was just deployed; it always follows a deployment.
func (w *run) checkHealth(ctx workflow.Context, rung contract.Stage) error {
	w.enter(ctx, NodeCheckHealth, rung)
	res, err := w.probe(ctx, "check_health", w.target(w.rollout))
	if err != nil {
		w.outcome(ctx, NodeCheckHealth, rung, "failed", err.Error())
		return err
	}
	w.health = res.Healthy
	w.deployment.HealthPassed = res.Healthy
	d := w.decision(ctx, "health_check", verdictWord(res.Healthy, "passed", "failed"), res.Error, "measured", "",
		map[string]any{"target": w.rollout.HealthURL, "probe": res})
	if err := w.record(ctx, store.Change{Decisions: []store.Decision{d}}); err != nil {
		return err
	}
	if !res.Healthy {
		w.outcome(ctx, NodeCheckHealth, rung, "failed", res.Error)
		return contract.NewError(contract.ErrHealthCheckFailed, "%s is unhealthy after %d attempts: %s", w.rollout.HealthURL, res.Attempts, res.Error)
	}
	w.outcome(ctx, NodeCheckHealth, rung, "ok", fmt.Sprintf("healthy in %s", res.ResponseTime))
	return nil
}

// finishRung marks the rung's deployment known-good, in one transaction with the registry row.
func (w *run) finishRung(ctx workflow.Context, rung contract.Stage) error {
	if rung == contract.StageShadow {
		hold := w.measuredShadowHold
		if w.gates < gatesMeasured {
			hold = w.legacyShadowHold
		}
		if err := hold(ctx); err != nil {
			return err
		}
	}
	w.deployment.Status = store.StatusHealthy
	if err := w.record(ctx, store.Change{Deployment: &w.deployment, Registry: w.registryEntry(ctx, w.deployment.DeploymentID)}); err != nil {
		return err
	}
	w.live = nil
	return nil
}

// checkRollbackAvailability (node 7) reads the last known-good deployment other than this one.
func (w *run) checkRollbackAvailability(ctx workflow.Context) error {
	w.enter(ctx, NodeCheckRollback, "")
	q := activities.RollbackQuery{DeploymentName: w.req.DeploymentName, Environment: string(w.req.Environment),
		ExcludeID: w.deployment.DeploymentID}
	if err := w.exec(ctx, short("check_rollback_availability"), a.CheckRollbackAvailability, q, &w.rollback); err != nil {
		w.outcome(ctx, NodeCheckRollback, "", "failed", err.Error())
		return err
	}
	detail := "no earlier known-good deployment"
	if w.rollback.Available {
		detail = "rollback target " + w.rollback.Target.DeploymentID + " (v" + w.rollback.Target.ModelVersion + ")"
	}
	w.outcome(ctx, NodeCheckRollback, "", "ok", detail)
	return nil
}

// target is what a probe checks on a workload: readiness and metrics, and (on measured gates) a
// synthetic inference built from the model's recorded input example.
func (w *run) target(ro kube.Rollout) probe.Target {
	t := probe.Target{HealthURL: ro.HealthURL, MetricsURL: ro.MetricsURL}
	if w.gates >= gatesMeasured && len(w.artifact.InputExample) > 0 && ro.EndpointURL != "" {
		t.PredictURL, t.PredictBody = ro.EndpointURL+"/predict", w.artifact.InputExample
	}
	return t
}
