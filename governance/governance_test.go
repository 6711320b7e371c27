package governance

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// goodEvidence is a version that meets every gate of the default policy.
func goodEvidence() Evidence {
	return Evidence{
		Tags: map[string]string{
			TagModelCard: "# Fraud model\nIntended use: scoring card payments.", TagTestsPassed: "212",
			TagTestsFailed: "0", TagTestsCoverage: "93.5%", "dataset_version": "v7",
		},
		Artifacts:         []string{"MLmodel", "requirements.txt", "python_model.pkl"},
		Requirements:      []string{"mlflow==2.16.2", "numpy==1.26.4"},
		BentoRequirements: []string{"bentoml==1.3.5", "numpy==1.26.4"},
	}
}

// TestCheck: the gates run where the policy says, and a refusal names every failing rule and what
// is missing, as a non-retryable PromotionDenied.
func TestCheck(t *testing.T) {
	bad := goodEvidence()
	delete(bad.Tags, TagModelCard)
	bad.Tags[TagTestsCoverage] = "85%"
	bad.BentoRequirements = append(bad.BentoRequirements, "torch>=2.0")
	everywhere := DefaultPolicy()
	everywhere.Environments = contract.Environments
	cardOff := DefaultPolicy()
	cardOff.RequireModelCard = false
	allOff := DefaultPolicy()
	allOff.RequireModelCard, allOff.RequireTestEvidence, allOff.RequirePinned = false, false, false
	invalid := DefaultPolicy()
	invalid.MinCoverage = 90

	cases := []struct {
		name      string
		p         Policy
		env       contract.Environment
		e         Evidence
		wantRules []string // the findings, in order
		refusal   []string // substrings of the refusal; none means no refusal
	}{
		{"production, all good", DefaultPolicy(), contract.EnvProduction, goodEvidence(),
			[]string{RuleTestEvidence, RuleModelCard, RulePinnedRequirements}, nil},
		{"production, three failures", DefaultPolicy(), contract.EnvProduction, bad,
			[]string{RuleTestEvidence, RuleModelCard, RulePinnedRequirements},
			[]string{"registry evidence refused for production: ",
				"[R1_test_evidence] tag tests.coverage = \"85%\": coverage 85% is below the minimum 90%",
				"[R10_model_card] no model card; tag model_card is missing; no model_card.md or README.md artifact under the model",
				`[R12_pinned_requirements] bento requirements: 1 of 3 requirements not pinned exactly (name==version): line 3 "torch>=2.0"`}},
		{"staging is not gated by default", DefaultPolicy(), contract.EnvStaging, bad, nil, nil},
		{"shadow is not gated by default", DefaultPolicy(), contract.EnvShadow, Evidence{}, nil, nil},
		{"an unknown environment is not gated", DefaultPolicy(), "qa", Evidence{}, nil, nil},
		{"staging gated when the policy names it", everywhere, contract.EnvStaging, bad,
			[]string{RuleTestEvidence, RuleModelCard, RulePinnedRequirements}, []string{"refused for staging", "[R10_model_card]"}},
		{"a rule switched off is not run", cardOff, contract.EnvProduction, bad,
			[]string{RuleTestEvidence, RulePinnedRequirements}, []string{"[R1_test_evidence]", "[R12_pinned_requirements]"}},
		{"every rule off", allOff, contract.EnvProduction, Evidence{}, nil, nil},
		{"only the card missing", DefaultPolicy(), contract.EnvProduction,
			func() Evidence { e := goodEvidence(); e.Tags[TagModelCard] = " "; return e }(),
			[]string{RuleTestEvidence, RuleModelCard, RulePinnedRequirements},
			[]string{"refused for production: [R10_model_card] no model card; tag model_card is whitespace only"}},
		{"invalid policy fails closed", invalid, contract.EnvStaging, goodEvidence(), nil,
			[]string{"registry evidence for staging: refusing under an invalid policy: governance policy: min_coverage 90"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			findings, refusal := Check(tc.p, tc.env, tc.e)
			var rules []string
			for _, f := range findings {
				rules = append(rules, f.Rule)
			}
			if strings.Join(rules, ",") != strings.Join(tc.wantRules, ",") {
				t.Errorf("findings = %v, want %v", rules, tc.wantRules)
			}
			if len(tc.refusal) == 0 {
				if refusal != nil {
					t.Fatalf("refusal = %v, want nil", refusal)
				}
				return
			}
			if refusal == nil {
				t.Fatalf("refusal = nil, want one with %q", tc.refusal)
			}
			var app *temporal.ApplicationError
			if !errors.As(refusal, &app) || app.Type() != contract.ErrPromotionDenied || !app.NonRetryable() {
				t.Fatalf("refusal = %#v, want a non-retryable ApplicationError of type %s", refusal, contract.ErrPromotionDenied)
			}
			for _, w := range tc.refusal {
				if !strings.Contains(app.Message(), w) {
					t.Errorf("refusal = %q, want it to contain %q", app.Message(), w)
				}
			}
			for _, f := range findings {
				if !f.Passed && !strings.Contains(app.Message(), "["+f.Rule+"] "+f.Detail) {
					t.Errorf("refusal %q does not name failing finding %s", app.Message(), f.Rule)
				}
			}
		})
	}
}

// TestCheckDeterministic: the same evidence gives the same findings and message, and findings
// survive the JSON a workflow and the ledger carry them in.
func TestCheckDeterministic(t *testing.T) {
	e := goodEvidence()
	e.Requirements = append(e.Requirements, "a>=1", "b", "c<2", "d~=1", "e!=2", "f==1.*", "g===1")
	first, err1 := Check(DefaultPolicy(), contract.EnvProduction, e)
	for range 20 {
		again, err2 := Check(DefaultPolicy(), contract.EnvProduction, e)
		if mustJSON(t, again) != mustJSON(t, first) || err2.Error() != err1.Error() {
			t.Fatalf("Check is not deterministic:\n%s\n%s", mustJSON(t, first), mustJSON(t, again))
		}
	}
	var back []Finding
	if err := json.Unmarshal([]byte(mustJSON(t, first)), &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 3 || back[2].Rule != RulePinnedRequirements || back[2].Passed || back[2].Detail != first[2].Detail {
		t.Errorf("findings after a JSON round trip = %+v", back)
	}
}
