package workflows

import (
	"slices"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/store"
)

func knownGood() *store.Deployment {
	return &store.Deployment{DeploymentID: "fraud-detector-production-old", DeploymentName: "fraud-detector",
		ModelName: "fraud-detector", ModelVersion: "0", Stage: "Production", Status: store.StatusHealthy,
		Image: "registry.local/models@sha256:" + string(make([]byte, 0)) + "00", CPULimit: "1", MemoryLimit: "1Gi"}
}

func TestCanary(t *testing.T) {
	cases := []struct {
		name        string
		abortAt     time.Duration
		failAt      string // canary health URL that fails
		wantErr     string
		wantWeights []int
		wantStage   contract.Stage
	}{
		{"walks 5→20→50→100 and promotes", 0, "", "", []int{5, 20, 50, 100}, contract.StageProduction},
		{"abort at 20% restores stable", 15 * time.Minute, "", contract.ErrAborted, []int{5, 20}, contract.StageShadow},
		{"canary failing its probe rolls back", 0, "http://production-canary.test/readyz", contract.ErrAnalysisFailed, []int{5}, contract.StageShadow},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			wd.stage, wd.registered, wd.knownGood = contract.StageShadow, true, knownGood()
			if tc.failAt != "" {
				wd.unhealthy[tc.failAt] = true
			}
			env := s.env(t, wd)
			in := input()
			in.TargetEnvironment, in.CanaryHold = contract.EnvProduction, "10m"
			wd.evidence = measuredEvidence(env.Now())
			approveAfter(t, env, time.Minute)
			var at20 contract.Status
			env.RegisterDelayedCallback(func() { at20 = status(t, env) }, 14*time.Minute)
			if tc.abortAt > 0 {
				env.RegisterDelayedCallback(func() {
					env.SignalWorkflow(contract.SignalAbort, contract.AbortSignal{Reason: "latency", RequestedBy: "oncall"})
				}, tc.abortAt)
			}
			env.ExecuteWorkflow(contract.WorkflowType, in)
			out, err := result(t, env)
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v), want %q", got, err, tc.wantErr)
			}
			if !slices.Equal(wd.weights, tc.wantWeights) {
				t.Errorf("weights %v, want %v", wd.weights, tc.wantWeights)
			}
			if wd.stage != tc.wantStage {
				t.Errorf("stage %s, want %s", wd.stage, tc.wantStage)
			}
			if tc.failAt == "" && (at20.CanaryWeight != 20 || at20.WaitingFor != waitCanaryHold) {
				t.Errorf("status at 14m: %+v", at20)
			}
			if tc.wantErr == "" {
				if wd.calls["PromoteCanary"] != 1 || len(wd.restores) != 0 {
					t.Errorf("calls %v restores %v", wd.calls, wd.restores)
				}
				// Promoted, the version serves behind production's Service: that is what the run
				// records and health-checks, not the canary's emptied one.
				if stable := rollout("production", "stable"); out.DeploymentManifest.EndpointURL != stable.EndpointURL ||
					out.DeploymentManifest.HealthCheckURL != stable.HealthURL {
					t.Errorf("manifest endpoint %s, health %s; want production's stable %s", out.DeploymentManifest.EndpointURL,
						out.DeploymentManifest.HealthCheckURL, stable.EndpointURL)
				}
				return
			}
			if len(wd.restores) != 1 || wd.restores[0].To == nil || wd.restores[0].To.ModelVersion != "0" {
				t.Fatalf("want one restore of the known-good v0, got %+v", wd.restores)
			}
			if wd.calls["PromoteCanary"] != 0 {
				t.Error("canary promoted after a failure")
			}
			if got := wd.verdicts("rollback_verified"); len(got) != 1 || got[0] != "passed" {
				t.Errorf("rollback not verified: %v", got)
			}
		})
	}
}

func TestFirstProductionDeploymentSkipsCanary(t *testing.T) {
	var s suite
	wd := newWorld()
	wd.stage, wd.registered = contract.StageShadow, true
	env := s.env(t, wd)
	in := input()
	in.TargetEnvironment = contract.EnvProduction
	wd.evidence = measuredEvidence(env.Now())
	approveAfter(t, env, time.Minute)
	env.ExecuteWorkflow(contract.WorkflowType, in)
	if _, err := result(t, env); err != nil {
		t.Fatal(err)
	}
	if len(wd.weights) != 0 || wd.calls["DeployWorkload"] != 1 {
		t.Errorf("weights %v calls %v", wd.weights, wd.calls)
	}
}

func TestHealthCheckFailureRollsBack(t *testing.T) {
	var s suite
	wd := newWorld()
	wd.unhealthy["http://staging-stable.test/readyz"] = true
	env := s.env(t, wd)
	env.ExecuteWorkflow(contract.WorkflowType, input())
	_, err := result(t, env)
	if errType(err) != contract.ErrHealthCheckFailed {
		t.Fatalf("got %v", err)
	}
	if wd.stage != contract.StageNone {
		t.Errorf("stage %s: want reverted to None", wd.stage)
	}
	if len(wd.restores) != 1 || wd.restores[0].To != nil {
		t.Errorf("restores %+v: want candidate removed", wd.restores)
	}
	for _, row := range wd.rows {
		if row.Status != store.StatusRolledBack {
			t.Errorf("row status %s", row.Status)
		}
	}
}

func TestDeployFailureRollsBack(t *testing.T) {
	var s suite
	wd := newWorld()
	wd.knownGood = knownGood()
	wd.deployErr = contract.NewError(contract.ErrRolloutFailed, "progress deadline exceeded")
	env := s.env(t, wd)
	env.ExecuteWorkflow(contract.WorkflowType, input())
	_, err := result(t, env)
	if errType(err) != contract.ErrRolloutFailed {
		t.Fatalf("got %v", err)
	}
	if len(wd.restores) != 1 || wd.restores[0].To == nil {
		t.Errorf("restores %+v: want known-good restored", wd.restores)
	}
	if wd.stage != contract.StageNone {
		t.Errorf("stage %s", wd.stage)
	}
}

func TestRollbackAction(t *testing.T) {
	cases := []struct {
		name    string
		known   *store.Deployment
		wantErr string
	}{
		{"restores the one before", knownGood(), ""},
		{"nothing to restore", nil, contract.ErrNoKnownGood},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			wd.knownGood = tc.known
			wd.current = &store.Deployment{DeploymentID: "fraud-detector-production-bad", ModelName: "fraud-detector", ModelVersion: "2", Status: store.StatusHealthy}
			env := s.env(t, wd)
			in := input()
			in.DeploymentAction, in.TargetEnvironment = contract.ActionRollback, contract.EnvProduction
			if tc.known != nil {
				approveAfter(t, env, time.Minute) // a production rollback needs an approval (gates version 6)
			}
			env.ExecuteWorkflow(contract.WorkflowType, in)
			out, err := result(t, env)
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v)", got, err)
			}
			if tc.wantErr != "" {
				if wd.calls["RestoreWorkload"] != 0 {
					t.Error("restored with nothing to restore")
				}
				return
			}
			if out.Status != contract.StatusRolledBack || out.VersionRecord.Version != "0" || !out.HealthCheckPassed {
				t.Errorf("output %+v", out)
			}
			if wd.rows["fraud-detector-production-bad"].Status != store.StatusRolledBack {
				t.Errorf("replaced deployment not marked rolled back: %+v", wd.rows)
			}
			if len(wd.restores) != 1 || wd.restores[0].To.ModelVersion != "0" {
				t.Errorf("restores %+v", wd.restores)
			}
		})
	}
}
