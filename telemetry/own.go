package telemetry

import (
	"errors"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// The deployer's own metrics, recorded through the SDK's metrics handler (so on the same endpoint
// as the SDK's, with its namespace, task_queue and workflow_type labels, and not at all while a
// run replays). Counters get Prometheus's _total suffix, durations _seconds.
const (
	// MetricDeployments counts finished runs by action, environment and outcome (OutcomeSucceeded
	// or the contract error type the run failed with): deployer_deployments_total.
	MetricDeployments = "deployer_deployments"
	// MetricDeploymentDuration is a finished run's time from start to close, whatever it waited
	// for (holds, approvals): deployer_deployment_duration_seconds{action,environment,outcome}.
	MetricDeploymentDuration = "deployer_deployment_duration"
	// MetricGateVerdicts counts the evidence ledger's decisions by gate and verdict as they are
	// recorded: deployer_gate_verdicts_total.
	MetricGateVerdicts = "deployer_gate_verdicts"
	// MetricRolloutDuration is how long a candidate's workload took from apply to rolled out
	// (DeployWorkload): deployer_rollout_duration_seconds{environment,role}.
	MetricRolloutDuration = "deployer_rollout_duration"
	// MetricRollbackDuration is how long an environment took to get its known-good workload back
	// and running (RestoreWorkload: a failed or aborted run's compensation, or a rollback run):
	// deployer_rollback_duration_seconds{environment}.
	MetricRollbackDuration = "deployer_rollback_duration"
)

// Label names of the deployer's own metrics.
const (
	LabelAction      = "action"
	LabelEnvironment = "environment"
	LabelOutcome     = "outcome"
	LabelGate        = "gate"
	LabelVerdict     = "verdict"
	LabelRole        = "role"
)

// Outcome words besides the contract's error types.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeCanceled  = "canceled"
	OutcomeError     = "error" // a failure without an application error type (a panic, a timeout)
	other            = "other" // a label value outside the contract's words
)

// Outcome is a finished run's outcome label: succeeded, the contract error type it failed with
// (Aborted, AnalysisFailed, PromotionDenied, …), canceled, or error.
func Outcome(err error) string {
	var app *temporal.ApplicationError
	var canceled *temporal.CanceledError
	switch {
	case err == nil:
		return OutcomeSucceeded
	case errors.As(err, &canceled):
		return OutcomeCanceled
	case errors.As(err, &app) && app.Type() != "":
		return app.Type()
	}
	return OutcomeError
}

// RunLabels are a run's action and environment labels, with the contract's defaults (deploy,
// staging) for fields left out; a value outside the contract's words is "other", so no caller
// can grow the series.
func RunLabels(in contract.Input) map[string]string {
	action, env := in.DeploymentAction, in.TargetEnvironment
	if action == "" {
		action = contract.ActionDeploy
	}
	if env == "" {
		env = contract.EnvStaging
	}
	labels := map[string]string{LabelAction: other, LabelEnvironment: other}
	switch action {
	case contract.ActionDeploy, contract.ActionPromote, contract.ActionRollback:
		labels[LabelAction] = string(action)
	}
	for _, e := range contract.Environments {
		if env == e {
			labels[LabelEnvironment] = string(env)
		}
	}
	return labels
}

// RecordDeployment counts a finished run and its duration on h.
func RecordDeployment(h client.MetricsHandler, in contract.Input, err error, took time.Duration) {
	labels := RunLabels(in)
	labels[LabelOutcome] = Outcome(err)
	h = h.WithTags(labels)
	h.Counter(MetricDeployments).Inc(1)
	h.Timer(MetricDeploymentDuration).Record(took)
}

// RecordVerdict counts one ledger decision.
func RecordVerdict(h client.MetricsHandler, gate, verdict string) {
	h.WithTags(map[string]string{LabelGate: gate, LabelVerdict: verdict}).Counter(MetricGateVerdicts).Inc(1)
}

// RecordRollout records how long a workload took to roll out in an environment.
func RecordRollout(h client.MetricsHandler, environment, role string, took time.Duration) {
	h.WithTags(map[string]string{LabelEnvironment: environment, LabelRole: role}).Timer(MetricRolloutDuration).Record(took)
}

// RecordRollback records how long an environment took to get its known-good workload back.
func RecordRollback(h client.MetricsHandler, environment string, took time.Duration) {
	h.WithTags(map[string]string{LabelEnvironment: environment}).Timer(MetricRollbackDuration).Record(took)
}
