// Package governance holds the registry evidence gates of seed 003, as pure functions of what the
// registry and the bento say about a model version: a model card (R10), test evidence with enough
// coverage (R1) and exactly pinned requirements (R12). An activity reads MLflow and the bento and
// hands the plain data over as Evidence; Check judges it against the worker's Policy and says
// which rule failed and what is missing. Nothing here does I/O, reads a clock or panics.
//
// Conventions the training CI follows (exact names):
//   - R10: the model-version tag "model_card" holding the card's Markdown, or a file "model_card.md"
//     (preferred) or "README.md" at the root of the model's artifacts, beside MLmodel. The card
//     must not be empty, whitespace or a placeholder (TODO, TBD, n/a, none, null, -, ...).
//   - R1: the model-version tags "tests.passed" (integer > 0), "tests.failed" (integer, must be 0)
//     and "tests.coverage": a fraction "0.935" or a percent "93.5%"; "93.5" without % is refused
//     as ambiguous. Coverage at the policy minimum passes.
//   - R12: every requirement in the MLflow model's requirements.txt and in the bento's pinned
//     packages reads name==version (see CheckPinnedRequirements for the accepted forms).
package governance

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// Rule names, as findings and refusals carry them. They are the evidence ledger's words, stable
// like the contract's error types.
const (
	RuleTestEvidence       = "R1_test_evidence"
	RuleModelCard          = "R10_model_card"
	RulePinnedRequirements = "R12_pinned_requirements"
)

// Evidence is what the registry and the bento say about one model version, read by the caller.
type Evidence struct {
	// Tags are the MLflow model-version tags.
	Tags map[string]string `json:"tags,omitempty"`
	// Artifacts are the artifact paths under the model, relative to its root (MLmodel,
	// requirements.txt, model_card.md, ...).
	Artifacts []string `json:"artifacts,omitempty"`
	// ModelCardText is the text of the card file ModelCardArtifact picked from Artifacts, read by
	// the caller; empty when there is none.
	ModelCardText string `json:"model_card_text,omitempty"`
	// Requirements are the lines of the MLflow model's requirements.txt.
	Requirements []string `json:"requirements,omitempty"`
	// BentoRequirements are the lines of the bento's pinned python packages.
	BentoRequirements []string `json:"bento_requirements,omitempty"`
	// BentoPending says the bento is not built yet (validate_promotion runs before packaging):
	// R12 then judges the MLflow model's requirements only, and the bento's once it is built.
	BentoPending bool `json:"bento_pending,omitempty"`
}

// Finding is one rule's judgement of the evidence. Detail names exactly what is missing or wrong
// when the rule failed, and what satisfied it when it passed. Inputs are the numbers and names
// the rule judged, for the evidence ledger (JSON-safe, bounded in size).
type Finding struct {
	Rule   string         `json:"rule"`
	Passed bool           `json:"passed"`
	Detail string         `json:"detail"`
	Inputs map[string]any `json:"inputs,omitempty"`
}

// Check runs the rules the policy applies to env, in the order R1, R10, R12, and returns every
// finding. refusal is nil when every rule passed or none applies; otherwise it is a non-retryable
// ApplicationError of type contract.ErrPromotionDenied whose message names each failing rule and
// what is missing. An invalid policy fails closed: no findings, and a refusal saying why.
func Check(p Policy, env contract.Environment, e Evidence) (findings []Finding, refusal error) {
	if err := p.Validate(); err != nil {
		return nil, contract.NewError(contract.ErrPromotionDenied,
			"registry evidence for %s: refusing under an invalid policy: %v", env, err)
	}
	if !p.AppliesTo(env) {
		return nil, nil
	}
	if p.RequireTestEvidence {
		findings = append(findings, CheckTestEvidence(e, p.MinCoverage))
	}
	if p.RequireModelCard {
		findings = append(findings, CheckModelCard(e))
	}
	if p.RequirePinned {
		findings = append(findings, CheckPinnedRequirements(e))
	}
	var fails []string
	for _, f := range findings {
		if !f.Passed {
			fails = append(fails, fmt.Sprintf("[%s] %s", f.Rule, f.Detail))
		}
	}
	if len(fails) == 0 {
		return findings, nil
	}
	return findings, contract.NewError(contract.ErrPromotionDenied,
		"registry evidence refused for %s: %s", env, strings.Join(fails, "; "))
}

func passed(rule, detail string, inputs map[string]any) Finding {
	return Finding{Rule: rule, Passed: true, Detail: detail, Inputs: inputs}
}

func failed(rule string, problems []string, inputs map[string]any) Finding {
	return Finding{Rule: rule, Passed: false, Detail: strings.Join(problems, "; "), Inputs: inputs}
}

// digest is the hex SHA-256 of lines joined by newlines, so the ledger can name exactly what
// was judged without carrying it.
func digest(lines ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:])
}

// quote bounds a piece of evidence quoted in a message.
func quote(s string) string {
	const max = 80
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
