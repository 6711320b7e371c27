package workflows

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// TestLadderEdges walks every (current stage, action, target) through the real workflow and
// checks where it ends and which nodes ran.
func TestLadderEdges(t *testing.T) {
	cases := []struct {
		name      string
		current   contract.Stage
		action    contract.Action
		target    contract.Environment
		wantErr   string
		wantStage contract.Stage
		promotes  int // PromoteStage calls
		deploys   int // DeployWorkload calls
		packages  int
	}{
		{"promote None→Staging", contract.StageNone, contract.ActionPromote, contract.EnvStaging, "", contract.StageStaging, 1, 0, 0},
		{"promote Staging→Shadow", contract.StageStaging, contract.ActionPromote, contract.EnvShadow, "", contract.StageShadow, 1, 0, 0},
		{"promote Shadow→Production", contract.StageShadow, contract.ActionPromote, contract.EnvProduction, "", contract.StageProduction, 1, 0, 0},
		{"promote skip None→Shadow", contract.StageNone, contract.ActionPromote, contract.EnvShadow, contract.ErrPromotionDenied, contract.StageNone, 0, 0, 0},
		{"promote skip None→Production", contract.StageNone, contract.ActionPromote, contract.EnvProduction, contract.ErrPromotionDenied, contract.StageNone, 0, 0, 0},
		{"promote skip Staging→Production", contract.StageStaging, contract.ActionPromote, contract.EnvProduction, contract.ErrPromotionDenied, contract.StageStaging, 0, 0, 0},
		{"promote to same stage", contract.StageStaging, contract.ActionPromote, contract.EnvStaging, contract.ErrPromotionDenied, contract.StageStaging, 0, 0, 0},
		{"promote demotion", contract.StageProduction, contract.ActionPromote, contract.EnvStaging, contract.ErrPromotionDenied, contract.StageProduction, 0, 0, 0},
		{"promote from Archived", contract.StageArchived, contract.ActionPromote, contract.EnvStaging, contract.ErrPromotionDenied, contract.StageArchived, 0, 0, 0},
		{"deploy None→Staging", contract.StageNone, contract.ActionDeploy, contract.EnvStaging, "", contract.StageStaging, 1, 1, 1},
		{"deploy None→Shadow walks two rungs", contract.StageNone, contract.ActionDeploy, contract.EnvShadow, "", contract.StageShadow, 2, 2, 1},
		{"deploy None→Production walks three rungs", contract.StageNone, contract.ActionDeploy, contract.EnvProduction, "", contract.StageProduction, 3, 3, 1},
		{"deploy redeploys Staging", contract.StageStaging, contract.ActionDeploy, contract.EnvStaging, "", contract.StageStaging, 0, 1, 1},
		{"deploy demotion denied", contract.StageShadow, contract.ActionDeploy, contract.EnvStaging, contract.ErrPromotionDenied, contract.StageShadow, 0, 0, 0},
		{"deploy from Archived denied", contract.StageArchived, contract.ActionDeploy, contract.EnvProduction, contract.ErrPromotionDenied, contract.StageArchived, 0, 0, 0},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			wd.stage, wd.registered = tc.current, tc.current != contract.StageNone
			env := s.env(t, wd)
			in := input()
			in.DeploymentAction, in.TargetEnvironment = tc.action, tc.target
			wd.evidence = measuredEvidence(env.Now())
			if tc.target == contract.EnvProduction {
				approveAfter(t, env, 25*time.Hour)
			}
			env.ExecuteWorkflow(contract.WorkflowType, in)
			out, err := result(t, env)
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v), want %q", got, err, tc.wantErr)
			}
			if wd.stage != tc.wantStage {
				t.Errorf("registry stage %s, want %s", wd.stage, tc.wantStage)
			}
			if wd.calls["PromoteStage"] != tc.promotes || wd.calls["DeployWorkload"] != tc.deploys || wd.calls["PackageModel"] != tc.packages {
				t.Errorf("calls %v; want %d promotes, %d deploys, %d packages", wd.calls, tc.promotes, tc.deploys, tc.packages)
			}
			if wd.calls["Release"] != wd.calls["Claim"] {
				t.Errorf("lock claimed %d times, released %d", wd.calls["Claim"], wd.calls["Release"])
			}
			if tc.wantErr == "" {
				if out.VersionRecord.Stage != tc.wantStage {
					t.Errorf("output stage %s", out.VersionRecord.Stage)
				}
				if tc.action == contract.ActionDeploy && (!out.DeploymentSuccessful || !out.HealthCheckPassed || out.Status != contract.StatusDeployed) {
					t.Errorf("deploy output %+v", out)
				}
				if tc.action == contract.ActionPromote && (out.Status != contract.StatusPromoted || out.DeploymentSuccessful) {
					t.Errorf("promote output %+v", out)
				}
			}
		})
	}
}

func TestDeployOutputContract(t *testing.T) {
	var s suite
	wd := newWorld()
	env := s.env(t, wd)
	env.ExecuteWorkflow(contract.WorkflowType, input())
	out, err := result(t, env)
	if err != nil {
		t.Fatal(err)
	}
	m := out.DeploymentManifest
	if m.DeploymentID == "" || m.ExperimentID != "42" || m.ModelVersion != "1" || m.Environment != contract.EnvStaging ||
		m.EndpointURL != "http://staging-stable.test" || m.HealthCheckURL != "http://staging-stable.test/readyz" ||
		m.MetricsURL != "http://staging-stable.test/metrics" || m.DeployedAt == nil || m.Status != store.StatusHealthy ||
		m.Resources["cpu"] != "2" || m.Resources["memory"] != "4Gi" {
		t.Errorf("manifest %+v", m)
	}
	if out.BentoMLTag != "e2i_42_model:v1" {
		t.Errorf("bento tag %q", out.BentoMLTag)
	}
	if out.VersionRecord.RegisteredModelName != "fraud-detector" || out.VersionRecord.Version != "1" || out.VersionRecord.Description == "" {
		t.Errorf("version record %+v", out.VersionRecord)
	}
	if out.RollbackAvailable {
		t.Error("rollback available with no earlier deployment")
	}
	row := wd.rows[m.DeploymentID]
	if row.Status != store.StatusHealthy || row.Replicas != 1 || row.Autoscaling["max_replicas"] != float64(3) || !row.HealthPassed {
		t.Errorf("ml_deployments row %+v", row)
	}
	if got := wd.verdicts("success_criteria"); len(got) != 1 || got[0] != "allowed" {
		t.Errorf("ledger success_criteria %v", got)
	}
}

func TestSuccessGate(t *testing.T) {
	lo, hi := 0.95, 0.5
	cases := []struct {
		name string
		mut  func(*contract.Input)
	}{
		{"criteria not met", func(in *contract.Input) { f := false; in.SuccessCriteriaMet = &f }},
		{"empty evidence", func(in *contract.Input) { in.ValidationMetrics = map[string]float64{} }},
		{"below min", func(in *contract.Input) { in.ValidationThresholds = map[string]contract.Threshold{"auc": {Min: &lo}} }},
		{"above max", func(in *contract.Input) { in.ValidationThresholds = map[string]contract.Threshold{"auc": {Max: &hi}} }},
		{"missing metric", func(in *contract.Input) { in.ValidationThresholds = map[string]contract.Threshold{"f1": {Min: &hi}} }},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			env := s.env(t, wd)
			in := input()
			tc.mut(&in)
			env.ExecuteWorkflow(contract.WorkflowType, in)
			_, err := result(t, env)
			if errType(err) != contract.ErrSuccessCriteriaNotMet {
				t.Fatalf("got %v", err)
			}
			if wd.calls["PromoteStage"]+wd.calls["PackageModel"]+wd.calls["DeployWorkload"] != 0 {
				t.Errorf("side effects after a failed gate: %v", wd.calls)
			}
			if got := wd.verdicts("success_criteria"); len(got) != 1 || got[0] != "denied" {
				t.Errorf("ledger %v", got)
			}
		})
	}
}

func TestInvalidInputFailsBeforeAnySideEffect(t *testing.T) {
	cases := []struct {
		field string
		mut   func(*contract.Input)
	}{
		{"model_uri", func(in *contract.Input) { in.ModelURI = "" }},
		{"deployment_name", func(in *contract.Input) { in.DeploymentName = "Fraud_Detector" }},
		{"target_environment", func(in *contract.Input) { in.TargetEnvironment = "prod" }},
		{"deployment_action", func(in *contract.Input) { in.DeploymentAction = "yolo" }},
		{"max_batch_size", func(in *contract.Input) { n := -1; in.MaxBatchSize = &n }},
		{"shadow_hold", func(in *contract.Input) { in.ShadowHold = "1h" }},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.field, func(t *testing.T) {
			wd := newWorld()
			env := s.env(t, wd)
			in := input()
			tc.mut(&in)
			env.ExecuteWorkflow(contract.WorkflowType, in)
			_, err := result(t, env)
			if errType(err) != contract.ErrInvalidInput || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("got %v, want InvalidInput naming %s", err, tc.field)
			}
			if len(wd.calls) != 1 || wd.calls["LoadPolicy"] != 1 {
				t.Errorf("activities ran for invalid input: %v", wd.calls)
			}
		})
	}
}

func TestInvalidJSONInputNamesField(t *testing.T) {
	var s suite
	wd := newWorld()
	env := s.env(t, wd)
	env.ExecuteWorkflow(contract.WorkflowType, json.RawMessage(`{"model_uri":"runs:/a/m","max_batch_size":"lots"}`))
	_, err := result(t, env)
	if errType(err) != contract.ErrInvalidInput || !strings.Contains(err.Error(), "max_batch_size") {
		t.Fatalf("got %v", err)
	}
}

func TestBackendNotConfigured(t *testing.T) {
	cases := []struct {
		name    string
		action  contract.Action
		backend string
		mut     func(*world)
	}{
		{"deploy without packager", contract.ActionDeploy, "packaging", func(w *world) { w.policy.Backends.Packager = false }},
		{"deploy without cluster", contract.ActionDeploy, "cluster", func(w *world) { w.policy.Backends.Cluster = false }},
		{"rollback without cluster", contract.ActionRollback, "cluster", func(w *world) { w.policy.Backends.Cluster = false }},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			tc.mut(wd)
			env := s.env(t, wd)
			in := input()
			in.DeploymentAction = tc.action
			env.ExecuteWorkflow(contract.WorkflowType, in)
			_, err := result(t, env)
			if errType(err) != contract.ErrBackendNotConfigured || !strings.Contains(err.Error(), tc.backend) {
				t.Fatalf("got %v", err)
			}
			if wd.calls["Claim"] != 0 || wd.calls["ResolveModel"] != 0 {
				t.Errorf("side effects before preflight failed: %v", wd.calls)
			}
		})
	}
}

func TestConcurrentDeployment(t *testing.T) {
	var s suite
	wd := newWorld()
	wd.lockHeldBy = "deploy-other"
	env := s.env(t, wd)
	env.ExecuteWorkflow(contract.WorkflowType, input())
	_, err := result(t, env)
	if errType(err) != contract.ErrConcurrentDeployment {
		t.Fatalf("got %v", err)
	}
	if wd.calls["ResolveModel"] != 0 || wd.calls["Release"] != 0 {
		t.Errorf("ran on after a refused claim: %v", wd.calls)
	}
}
