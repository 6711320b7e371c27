package activities

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/store"
	"github.com/temporaldeployer/temporaldeployer/telemetry"
	"github.com/temporaldeployer/temporaldeployer/telemetry/telemetrytest"
)

// metricsStore is a store whose Commit succeeds or fails as told.
type metricsStore struct {
	store.Store
	err error
}

func (s metricsStore) Commit(context.Context, store.Change) error { return s.err }

// metricsCluster is a cluster whose Deploy and Restore take a moment and succeed or fail as told.
type metricsCluster struct {
	kube.Cluster
	err error
}

func (c metricsCluster) Deploy(context.Context, kube.Spec) (kube.Rollout, error) {
	time.Sleep(20 * time.Millisecond)
	return kube.Rollout{}, c.err
}

func (c metricsCluster) Restore(context.Context, string, string, *kube.Spec) (kube.Rollout, error) {
	time.Sleep(20 * time.Millisecond)
	return kube.Rollout{}, c.err
}

// TestOwnMetrics: the activities that record a gate verdict, roll a workload out or restore the
// known-good one record the worker's own metrics on the activity's metrics handler, and only when
// they did what the metric says.
func TestOwnMetrics(t *testing.T) {
	fail := errors.New("api server down")
	spec := kube.Spec{DeploymentName: "fraud", Environment: "production", Role: kube.RoleCanary}
	cases := []struct {
		name   string
		acts   *Activities
		run    func(a *Activities, env *testsuite.TestActivityEnvironment) error
		counts map[string]int64
		timer  string // the timer series recorded once (prefix); "" none
	}{
		{"verdicts recorded", &Activities{Store: metricsStore{}}, func(a *Activities, env *testsuite.TestActivityEnvironment) error {
			_, err := env.ExecuteActivity(a.Record, store.Change{Decisions: []store.Decision{
				{Gate: "stage_ladder", Verdict: "allowed"}, {Gate: "approval", Verdict: "rejected"}}})
			return err
		}, map[string]int64{"deployer_gate_verdicts{gate=stage_ladder,verdict=allowed}": 1, "deployer_gate_verdicts{gate=approval,verdict=rejected}": 1}, ""},
		{"verdicts not written", &Activities{Store: metricsStore{err: fail}}, func(a *Activities, env *testsuite.TestActivityEnvironment) error {
			_, err := env.ExecuteActivity(a.Record, store.Change{Decisions: []store.Decision{{Gate: "stage_ladder", Verdict: "allowed"}}})
			return err
		}, nil, ""},
		{"rolled out", &Activities{Cluster: metricsCluster{}}, func(a *Activities, env *testsuite.TestActivityEnvironment) error {
			_, err := env.ExecuteActivity(a.DeployWorkload, spec)
			return err
		}, nil, "deployer_rollout_duration{environment=production,role=canary}"},
		{"rollout failed", &Activities{Cluster: metricsCluster{err: fail}}, func(a *Activities, env *testsuite.TestActivityEnvironment) error {
			_, err := env.ExecuteActivity(a.DeployWorkload, spec)
			return err
		}, nil, ""},
		{"rolled back", &Activities{Cluster: metricsCluster{}}, func(a *Activities, env *testsuite.TestActivityEnvironment) error {
			_, err := env.ExecuteActivity(a.RestoreWorkload, RestoreRequest{DeploymentName: "fraud", Environment: "shadow"})
			return err
		}, nil, "deployer_rollback_duration{environment=shadow}"},
		{"rollback failed", &Activities{Cluster: metricsCluster{err: fail}}, func(a *Activities, env *testsuite.TestActivityEnvironment) error {
			_, err := env.ExecuteActivity(a.RestoreWorkload, RestoreRequest{DeploymentName: "fraud", Environment: "shadow"})
			return err
		}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			r := telemetrytest.NewRecorder()
			ts.SetMetricsHandler(r)
			env := ts.NewTestActivityEnvironment()
			env.RegisterActivity(tc.acts)
			_ = tc.run(tc.acts, env) // failures are cases too: what matters is what was recorded
			counts := map[string]int64{}
			for k, v := range r.Counts(telemetry.MetricGateVerdicts) {
				counts[k[:strings.IndexByte(k, '{')]+stripTags(k)] = v
			}
			if !maps.Equal(counts, tc.counts) {
				t.Errorf("verdicts %v, want %v", counts, tc.counts)
			}
			timers := map[string][]time.Duration{}
			for k, v := range r.Timers("deployer_") {
				timers[k[:strings.IndexByte(k, '{')]+stripTags(k)] = v
			}
			switch got := timers[tc.timer]; {
			case tc.timer == "" && len(timers) != 0:
				t.Errorf("timers %v, want none", timers)
			case tc.timer != "" && (len(timers) != 1 || len(got) != 1 || got[0] < 20*time.Millisecond):
				t.Errorf("timers %v, want one %s of at least 20ms", timers, tc.timer)
			}
		})
	}
}

// stripTags keeps a series' own labels, dropping those the SDK adds (activity_type, namespace,
// task_queue, workflow_type, …): "{a=1,namespace=x}" → "{a=1}".
func stripTags(series string) string {
	inner := strings.TrimSuffix(series[strings.IndexByte(series, '{')+1:], "}")
	var kept []string
	for _, kv := range strings.Split(inner, ",") {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "gate", "verdict", "environment", "role":
			kept = append(kept, kv)
		}
	}
	return "{" + strings.Join(kept, ",") + "}"
}
