package telemetry

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/telemetry/telemetrytest"
)

func TestOutcome(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"success", nil, "succeeded"},
		{"a contract failure", contract.NewError(contract.ErrAborted, "aborted by bob"), "Aborted"},
		{"a contract failure wrapped", fmt.Errorf("deploy: %w", contract.NewError(contract.ErrAnalysisFailed, "p99")), "AnalysisFailed"},
		{"canceled", temporal.NewCanceledError(), "canceled"},
		{"a plain error", errors.New("boom"), "error"},
		{"an application error without a type", temporal.NewApplicationError("x", ""), "error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Outcome(tc.err); got != tc.want {
				t.Errorf("Outcome(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestRunLabels(t *testing.T) {
	cases := []struct {
		name        string
		in          contract.Input
		action, env string
	}{
		{"contract defaults", contract.Input{}, "deploy", "staging"},
		{"promote to shadow", contract.Input{DeploymentAction: contract.ActionPromote, TargetEnvironment: contract.EnvShadow}, "promote", "shadow"},
		{"rollback production", contract.Input{DeploymentAction: contract.ActionRollback, TargetEnvironment: contract.EnvProduction}, "rollback", "production"},
		{"words outside the contract", contract.Input{DeploymentAction: "nuke", TargetEnvironment: "prod-eu-1"}, "other", "other"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := RunLabels(tc.in)
			if got[LabelAction] != tc.action || got[LabelEnvironment] != tc.env || len(got) != 2 {
				t.Errorf("RunLabels = %v, want action %q environment %q", got, tc.action, tc.env)
			}
		})
	}
}

// TestRecord: each record function writes its metric with its labels and nothing else.
func TestRecord(t *testing.T) {
	cases := []struct {
		name   string
		record func(client.MetricsHandler)
		counts map[string]int64
		timers map[string]time.Duration
	}{
		{"a deployment that succeeded", func(h client.MetricsHandler) {
			RecordDeployment(h, contract.Input{DeploymentAction: contract.ActionPromote}, nil, 3*time.Second)
		}, map[string]int64{"deployer_deployments{action=promote,environment=staging,outcome=succeeded}": 1},
			map[string]time.Duration{"deployer_deployment_duration{action=promote,environment=staging,outcome=succeeded}": 3 * time.Second}},
		{"a deployment that was aborted", func(h client.MetricsHandler) {
			RecordDeployment(h, contract.Input{TargetEnvironment: contract.EnvProduction}, contract.NewError(contract.ErrAborted, "x"), time.Hour)
		}, map[string]int64{"deployer_deployments{action=deploy,environment=production,outcome=Aborted}": 1},
			map[string]time.Duration{"deployer_deployment_duration{action=deploy,environment=production,outcome=Aborted}": time.Hour}},
		{"gate verdicts", func(h client.MetricsHandler) {
			RecordVerdict(h, contract.GateStageLadder, contract.VerdictAllowed)
			RecordVerdict(h, contract.GateStageLadder, contract.VerdictAllowed)
			RecordVerdict(h, contract.GateCanaryAnalysis, contract.VerdictFailed)
		}, map[string]int64{"deployer_gate_verdicts{gate=stage_ladder,verdict=allowed}": 2,
			"deployer_gate_verdicts{gate=canary_analysis,verdict=failed}": 1}, nil},
		{"a rollout", func(h client.MetricsHandler) { RecordRollout(h, "production", "canary", 90*time.Second) }, nil,
			map[string]time.Duration{"deployer_rollout_duration{environment=production,role=canary}": 90 * time.Second}},
		{"a rollback", func(h client.MetricsHandler) { RecordRollback(h, "shadow", 12*time.Second) }, nil,
			map[string]time.Duration{"deployer_rollback_duration{environment=shadow}": 12 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := telemetrytest.NewRecorder()
			tc.record(r)
			if counts := r.Counts(""); !maps.Equal(counts, nonNil(tc.counts)) {
				t.Errorf("counters %v, want %v", counts, tc.counts)
			}
			timers := map[string]time.Duration{}
			for k, v := range r.Timers("") {
				if len(v) != 1 {
					t.Errorf("%s recorded %d times", k, len(v))
				}
				timers[k] = v[0]
			}
			if !maps.Equal(timers, nonNil(tc.timers)) {
				t.Errorf("timers %v, want %v", timers, tc.timers)
			}
		})
	}
}

func nonNil[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}

// TestOutcomesInterceptor: a finished ModelDeployment run is counted once by its outcome and
// timed in workflow time; other workflow types are not counted.
func TestOutcomesInterceptor(t *testing.T) {
	cases := []struct {
		name   string
		wfType string
		in     contract.Input
		fail   error
		hold   time.Duration
		want   []string // labels of the count; nil: not counted
	}{
		{"promotion succeeded", contract.WorkflowType, contract.Input{DeploymentAction: contract.ActionPromote}, nil, 0,
			[]string{"action=promote", "environment=staging", "outcome=succeeded"}},
		{"deploy aborted after a day", contract.WorkflowType, contract.Input{TargetEnvironment: contract.EnvShadow},
			contract.NewError(contract.ErrAborted, "by bob"), 24 * time.Hour, []string{"action=deploy", "environment=shadow", "outcome=Aborted"}},
		{"another workflow type", "Other", contract.Input{}, nil, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			r := telemetrytest.NewRecorder()
			suite.SetMetricsHandler(r)
			env := suite.NewTestWorkflowEnvironment()
			env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{Outcomes()}})
			env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in contract.Input) (contract.Output, error) {
				if err := workflow.Sleep(ctx, tc.hold); err != nil {
					return contract.Output{}, err
				}
				return contract.Output{}, tc.fail
			}, workflow.RegisterOptions{Name: tc.wfType})
			env.ExecuteWorkflow(tc.wfType, tc.in)
			if !env.IsWorkflowCompleted() {
				t.Fatal("the workflow did not complete")
			}
			var counted int64
			for k, v := range r.Counts(MetricDeployments + "{") {
				counted += v
				for _, l := range tc.want {
					if !strings.Contains(k, l) {
						t.Errorf("counted as %s, want %s", k, l)
					}
				}
			}
			if want := map[bool]int64{true: 1, false: 0}[tc.want != nil]; counted != want {
				t.Errorf("counted %d runs, want %d (%v)", counted, want, r.Counts(""))
			}
			for k, v := range r.Timers(MetricDeploymentDuration + "{") {
				if len(v) != 1 || v[0] != tc.hold {
					t.Errorf("%s recorded %v, want one %s", k, v, tc.hold)
				}
			}
		})
	}
}
