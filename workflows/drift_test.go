package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/store"
)

var (
	unshifted = [][]float64{{250, 250, 250, 250}, {240, 260, 255, 245}}
	shifted   = [][]float64{{20, 80, 300, 600}, {240, 260, 255, 245}} // f0 moved up
	tooFew    = [][]float64{{5, 5, 5, 5}, {5, 5, 5, 5}}
)

// TestJudgeDrift: a conclusive PSI above the threshold always blocks; what could not be judged
// blocks only where the policy requires a judgement.
func TestJudgeDrift(t *testing.T) {
	cases := []struct {
		name        string
		m           *activities.DriftMeasurement
		required    bool
		wantVerdict string
		wantBlock   bool
		wantReason  string
	}{
		{"passed", driftMeasured(unshifted), true, contract.VerdictPassed, false, ""},
		{"drifted, required", driftMeasured(shifted), true, contract.VerdictBlocked, true, "f0"},
		{"drifted, not required", driftMeasured(shifted), false, contract.VerdictBlocked, true, "f0"},
		{"too few inputs, required", driftMeasured(tooFew), true, contract.VerdictBlocked, true, "inconclusive"},
		{"too few inputs, not required", driftMeasured(tooFew), false, contract.VerdictInconclusive, false, "warning"},
		{"no profile, required", &activities.DriftMeasurement{Profile: activities.ProfileAbsent}, true, contract.VerdictBlocked, true, "absent"},
		{"no profile, not required", &activities.DriftMeasurement{Profile: activities.ProfileAbsent}, false, contract.VerdictSkipped, false, "absent"},
		{"no counts, required", &activities.DriftMeasurement{Profile: activities.ProfilePresent, SourceError: "no bins"}, true, contract.VerdictBlocked, true, "no bins"},
		{"hold stopped early", nil, true, contract.VerdictSkipped, false, "stopped early"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, reason, block := judgeDrift(tc.m, tc.required)
			if v != tc.wantVerdict || block != tc.wantBlock || !strings.Contains(reason, tc.wantReason) {
				t.Errorf("judgeDrift = %s, %q, block %v; want %s naming %q, block %v", v, reason, block, tc.wantVerdict, tc.wantReason, tc.wantBlock)
			}
		})
	}
}

// TestDriftGate: a shadow whose inputs drifted fails its rung with DriftDetected and the
// per-feature numbers in the ledger, and is not kept as healthy; unshifted inputs pass; a model
// without a reference profile is refused before anything moves for Production, and let through
// with a recorded warning to the shadow alone.
func TestDriftGate(t *testing.T) {
	t.Run("drifted shadow blocked", func(t *testing.T) {
		wd := newWorld()
		wd.stage, wd.registered = contract.StageStaging, true
		wd.drift = driftMeasured(shifted)
		var s suite
		env := s.env(t, wd)
		in := input()
		in.TargetEnvironment = contract.EnvShadow
		env.ExecuteWorkflow(contract.WorkflowType, in)
		_, err := result(t, env)
		if errType(err) != contract.ErrDriftDetected || !strings.Contains(err.Error(), "f0") {
			t.Fatalf("err %v, want DriftDetected naming f0", err)
		}
		d := lastDecision(t, wd, contract.GateDrift)
		v, _ := d.Inputs["verdict"].(map[string]any)
		features, _ := v["features"].([]any)
		if psi, _ := v["worst_psi"].(float64); d.Verdict != contract.VerdictBlocked || len(features) != 2 || v["worst_feature"] != "f0" || !(psi > 0.2) {
			t.Errorf("ledger drift %s %+v", d.Verdict, d.Inputs)
		}
		if r := wd.driftRequests; len(r) != 1 || r[0].Threshold != 0.2 || r[0].ModelVersion != "1" || r[0].Options.MinTotal != 100 {
			t.Errorf("drift requests %+v", r)
		}
		for _, row := range wd.rows {
			if row.Environment == string(contract.EnvShadow) && row.Status == "healthy" {
				t.Errorf("a drifted shadow was kept as healthy: %+v", row)
			}
		}
	})
	t.Run("unshifted shadow passes", func(t *testing.T) {
		wd, err := shadowRun(t, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := lastDecision(t, wd, contract.GateDrift); d.Verdict != contract.VerdictPassed {
			t.Errorf("ledger drift %s: %s", d.Verdict, d.Reason)
		}
	})
	t.Run("no profile: production refused before anything moves", func(t *testing.T) {
		wd := newWorld()
		wd.evidence = measuredEvidence(time.Now())
		ev := goodRegistryEvidence()
		ev.DriftProfile = activities.ProfileAbsent
		wd.registryEvidence = &ev
		err := productionRun(t, wd, nil)
		if errType(err) != contract.ErrPromotionDenied || !strings.Contains(err.Error(), "R11_drift_profile") {
			t.Fatalf("err %v, want PromotionDenied naming R11", err)
		}
		if wd.calls["PromoteStage"] != 0 || wd.calls["DeployWorkload"] != 0 {
			t.Errorf("something moved: %v", wd.calls)
		}
	})
	t.Run("no profile: the shadow alone goes on with a warning", func(t *testing.T) {
		wd := newWorld()
		wd.stage, wd.registered = contract.StageStaging, true
		wd.drift = &activities.DriftMeasurement{Profile: activities.ProfileAbsent}
		var s suite
		env := s.env(t, wd)
		in := input()
		in.TargetEnvironment = contract.EnvShadow
		env.ExecuteWorkflow(contract.WorkflowType, in)
		if _, err := result(t, env); err != nil {
			t.Fatal(err)
		}
		if d := lastDecision(t, wd, contract.GateDrift); d.Verdict != contract.VerdictSkipped || !strings.Contains(d.Reason, "warning") {
			t.Errorf("ledger drift %s: %s", d.Verdict, d.Reason)
		}
	})
}

func lastDecision(t *testing.T, wd *world, gate string) (d store.Decision) {
	t.Helper()
	for _, x := range wd.decisions {
		if x.Gate == gate {
			d = x
		}
	}
	if d.Gate == "" {
		t.Fatalf("no %s decision in the ledger", gate)
	}
	return d
}
