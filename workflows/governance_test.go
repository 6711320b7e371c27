package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/governance"
)

// TestRegistryEvidenceGates: before Production, validate_promotion judges the version's registry
// evidence (R1 test evidence, R10 model card, R12 the MLflow model's pinned requirements) and
// refuses, naming the rule and what is missing, before anything moves; package_model judges the
// bento's requirements (R12) and a refusal there is compensated. Every finding is in the ledger.
func TestRegistryEvidenceGates(t *testing.T) {
	cases := []struct {
		name      string
		evidence  func(*activities.RegistryEvidence)
		bento     []string
		wantErr   string
		wantRule  string // the denied ledger gate
		wantInErr []string
	}{
		{name: "all evidence present"},
		{name: "no model card", evidence: func(e *activities.RegistryEvidence) {
			e.Evidence.Artifacts, e.Evidence.ModelCardText = []string{"requirements.txt"}, ""
		}, wantErr: contract.ErrPromotionDenied, wantRule: governance.RuleModelCard, wantInErr: []string{"R10_model_card", "model_card"}},
		{name: "placeholder model card", evidence: func(e *activities.RegistryEvidence) { e.Evidence.ModelCardText = "TODO" },
			wantErr: contract.ErrPromotionDenied, wantRule: governance.RuleModelCard, wantInErr: []string{"R10_model_card"}},
		{name: "coverage below the minimum", evidence: func(e *activities.RegistryEvidence) { e.Evidence.Tags["tests.coverage"] = "0.85" },
			wantErr: contract.ErrPromotionDenied, wantRule: governance.RuleTestEvidence, wantInErr: []string{"R1_test_evidence", "85"}},
		{name: "no test evidence", evidence: func(e *activities.RegistryEvidence) { e.Evidence.Tags = map[string]string{} },
			wantErr: contract.ErrPromotionDenied, wantRule: governance.RuleTestEvidence, wantInErr: []string{"tests.passed"}},
		{name: "failed tests", evidence: func(e *activities.RegistryEvidence) { e.Evidence.Tags["tests.failed"] = "2" },
			wantErr: contract.ErrPromotionDenied, wantRule: governance.RuleTestEvidence, wantInErr: []string{"tests.failed"}},
		{name: "unpinned model requirement", evidence: func(e *activities.RegistryEvidence) {
			e.Evidence.Requirements = append(e.Evidence.Requirements, "pandas>=2")
		}, wantErr: contract.ErrPromotionDenied, wantRule: governance.RulePinnedRequirements, wantInErr: []string{"R12_pinned_requirements", "pandas>=2"}},
		{name: "unpinned bento requirement", bento: []string{"scikit-learn==1.9.1", "bentoml"},
			wantErr: contract.ErrPromotionDenied, wantRule: governance.RulePinnedRequirements, wantInErr: []string{"bento requirements", `"bentoml"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			wd.evidence = measuredEvidence(time.Now())
			if tc.evidence != nil {
				ev := goodRegistryEvidence()
				tc.evidence(&ev)
				wd.registryEvidence = &ev
			}
			wd.bentoReqs = tc.bento
			err := productionRun(t, wd, nil)
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v), want %q", got, err, tc.wantErr)
			}
			for _, w := range tc.wantInErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			var app *temporal.ApplicationError
			if errors.As(err, &app) && strings.Contains(app.Message(), "retryable") {
				t.Errorf("refusal message carries the SDK's decoration: %q", app.Message())
			}
			if q := wd.evidenceQueries; len(q) != 1 || q[0].Name != "fraud-detector" || q[0].Version != "1" {
				t.Errorf("evidence read %v, want once for fraud-detector/1", q)
			}
			if tc.wantErr == "" {
				wantAllowed(t, wd, governance.RuleTestEvidence, 1)
				wantAllowed(t, wd, governance.RuleModelCard, 1)
				wantAllowed(t, wd, governance.RulePinnedRequirements, 2) // the MLflow model's, then the bento's
				return
			}
			if got := wd.verdicts(tc.wantRule); len(got) == 0 || got[len(got)-1] != "denied" {
				t.Errorf("ledger %s %v, want denied last", tc.wantRule, got)
			}
			if wd.calls["DeployWorkload"] != 0 || wd.stage != contract.StageShadow {
				t.Errorf("deployed or left the registry moved: stage %s, calls %v", wd.stage, wd.calls)
			}
			if tc.bento == nil && (wd.calls["PromoteStage"] != 0 || wd.calls["PackageModel"] != 0) {
				t.Errorf("something moved before the refusal: %v", wd.calls)
			}
		})
	}
}

func wantAllowed(t *testing.T, wd *world, rule string, n int) {
	t.Helper()
	got := wd.verdicts(rule)
	if len(got) != n {
		t.Errorf("ledger %s %v, want %d allowed", rule, got, n)
	}
	for _, v := range got {
		if v != "allowed" {
			t.Errorf("ledger %s %v, want allowed", rule, got)
		}
	}
}

// TestRegistryEvidenceWhereThePolicySays: the gates run only for a plan reaching an environment
// the governance policy names (default: production), never for a rollback; an unregistered URI's
// evidence is read from its source; an invalid policy refuses.
func TestRegistryEvidenceWhereThePolicySays(t *testing.T) {
	t.Run("staging is not governed by default", func(t *testing.T) {
		var s suite
		wd := newWorld()
		env := s.env(t, wd)
		env.ExecuteWorkflow(contract.WorkflowType, input())
		if _, err := result(t, env); err != nil || wd.calls["ReadRegistryEvidence"] != 0 {
			t.Fatalf("err %v, evidence reads %d", err, wd.calls["ReadRegistryEvidence"])
		}
	})
	t.Run("a policy naming staging reads the unregistered URI's source", func(t *testing.T) {
		var s suite
		wd := newWorld()
		wd.policy.Governance.Environments = []contract.Environment{contract.EnvStaging}
		ev := goodRegistryEvidence()
		ev.Evidence.Tags["tests.coverage"] = "50%"
		wd.registryEvidence = &ev
		env := s.env(t, wd)
		env.ExecuteWorkflow(contract.WorkflowType, input())
		_, err := result(t, env)
		if errType(err) != contract.ErrPromotionDenied || !strings.Contains(err.Error(), "staging") {
			t.Fatalf("err %v", err)
		}
		if q := wd.evidenceQueries; len(q) != 1 || q[0].Version != "" || q[0].ModelURI != "runs:/abc123/model" {
			t.Errorf("evidence queries %v, want the source URI", q)
		}
		if wd.registered || wd.calls["PromoteStage"] != 0 {
			t.Errorf("registered before the refusal: %v", wd.calls)
		}
	})
	t.Run("an invalid policy refuses", func(t *testing.T) {
		wd := newWorld()
		wd.evidence = measuredEvidence(time.Now())
		wd.policy.Governance.MinCoverage = 1.5
		err := productionRun(t, wd, nil)
		if errType(err) != contract.ErrPromotionDenied || !strings.Contains(err.Error(), "min_coverage") {
			t.Fatalf("err %v", err)
		}
		if got := wd.verdicts(gateRegistryEvidence); len(got) != 1 || got[0] != "denied" {
			t.Errorf("ledger %v", got)
		}
	})
}
