package workflows

import (
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
)

// unrecorded is a stable the cluster runs that the store has no row of (another worker's store,
// a wiped one, a deployment made by hand).
func unrecorded() *kube.Spec {
	return &kube.Spec{DeploymentName: "fraud-detector", Role: kube.RoleStable, Image: "registry.local/models@sha256:" + "11",
		ModelName: "fraud-detector", ModelVersion: "0", DeploymentID: "made-elsewhere", WorkflowID: "another-worker",
		Resources: map[string]string{"cpu": "1", "memory": "1Gi"}, MaxBatchSize: 8, MaxLatencyMS: 50,
		Scaling: kube.Scaling{Replicas: 3, MinReplicas: 2, MaxReplicas: 10, TargetCPUPercent: 70}}
}

// TestOnlyWhatItOwns: with no known-good row, a run takes the known-good from what the cluster
// runs. A production run canaries against that stable instead of applying straight onto it, and
// compensation puts back what ran before instead of removing the environment; only an
// environment where nothing ran is removed.
func TestOnlyWhatItOwns(t *testing.T) {
	cases := []struct {
		name        string
		target      contract.Environment
		deployed    *kube.Spec
		failURL     string
		wantErr     string
		wantWeights []int
		wantTo      string // DeploymentID restored; "" = removed; "-" = no restore
	}{
		{"production canaries against an unrecorded stable", contract.EnvProduction, unrecorded(), "",
			"", []int{5, 20, 50, 100}, "-"},
		{"a failed canary puts the unrecorded stable back", contract.EnvProduction, unrecorded(),
			"http://production-canary.test/readyz", contract.ErrAnalysisFailed, []int{5}, "made-elsewhere"},
		{"a failed staging rollout puts the unrecorded stable back", contract.EnvStaging, unrecorded(),
			"", contract.ErrRolloutFailed, nil, "made-elsewhere"},
		{"nothing ran in staging: the candidate is removed", contract.EnvStaging, nil,
			"", contract.ErrRolloutFailed, nil, ""},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			wd.deployed = tc.deployed
			if tc.failURL != "" {
				wd.unhealthy[tc.failURL] = true
			}
			if tc.wantErr == contract.ErrRolloutFailed {
				wd.deployErr = contract.NewError(contract.ErrRolloutFailed, "progress deadline exceeded")
			}
			in := input()
			if tc.target == contract.EnvProduction {
				wd.stage, wd.registered = contract.StageShadow, true
				in.TargetEnvironment, in.CanaryHold = contract.EnvProduction, "10m"
			}
			env := s.env(t, wd)
			wd.evidence = measuredEvidence(env.Now())
			approveAfter(t, env, time.Minute)
			env.ExecuteWorkflow(contract.WorkflowType, in)
			_, err := result(t, env)
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v), want %q", got, err, tc.wantErr)
			}
			if !slices.Equal(wd.weights, tc.wantWeights) {
				t.Errorf("weights %v, want %v", wd.weights, tc.wantWeights)
			}
			switch {
			case tc.wantTo == "-":
				if len(wd.restores) != 0 {
					t.Errorf("restores %+v; want none", wd.restores)
				}
			case len(wd.restores) != 1:
				t.Fatalf("restores %+v; want one", wd.restores)
			case tc.wantTo == "" && wd.restores[0].To != nil:
				t.Errorf("restored %+v; want the candidate removed", wd.restores[0].To)
			case tc.wantTo != "" && (wd.restores[0].To == nil || wd.restores[0].To.DeploymentID != tc.wantTo ||
				wd.restores[0].To.Image != tc.deployed.Image):
				t.Errorf("restored %+v; want %s as it ran", wd.restores[0].To, tc.wantTo)
			}
			if tc.wantTo != "-" && tc.wantTo != "" {
				if got := wd.verdicts("rollback_verified"); len(got) != 1 || got[0] != "passed" {
					t.Errorf("rollback_verified %v", got)
				}
			}
		})
	}
}

// TestForeignWorkloadUntouched: a Deployment at the environment's name that temporaldeployer did not
// make is refused before anything changes: no row, no deploy, no restore.
func TestForeignWorkloadUntouched(t *testing.T) {
	var s suite
	wd := newWorld()
	wd.readErr = temporal.NewNonRetryableApplicationError("read fraud-detector/staging: refused (ownership): deployment "+
		"fraud-detector-staging.models has no temporaldeployer.io/spec annotation", contract.ErrRolloutFailed, nil)
	env := s.env(t, wd)
	env.ExecuteWorkflow(contract.WorkflowType, input())
	_, err := result(t, env)
	if errType(err) != contract.ErrRolloutFailed || !strings.Contains(err.Error(), "ownership") {
		t.Fatalf("got %v; want RolloutFailed naming the ownership refusal", err)
	}
	if wd.calls["DeployWorkload"] != 0 || len(wd.restores) != 0 || len(wd.rows) != 0 {
		t.Errorf("calls %v restores %+v rows %v; want nothing deployed, restored or recorded", wd.calls, wd.restores, wd.rows)
	}
	if wd.stage != contract.StageNone {
		t.Errorf("stage %s; want the registry reverted to None", wd.stage)
	}
}
