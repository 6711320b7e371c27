package governance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// Policy says which registry evidence gates run, and where. It lives in the worker's policy
// file; a field left out of the JSON keeps its default, an unknown field is an error.
type Policy struct {
	// Environments the gates apply to. Defaults to ["production"].
	Environments []contract.Environment `json:"environments"`
	// RequireModelCard runs R10 (a model card on the version). Defaults to true.
	RequireModelCard bool `json:"require_model_card"`
	// RequireTestEvidence runs R1 (tests passed, none failed, coverage ≥ MinCoverage). Defaults to true.
	RequireTestEvidence bool `json:"require_test_evidence"`
	// MinCoverage is R1's minimum test coverage as a fraction in 0..1. Defaults to 0.90 (90 %).
	MinCoverage float64 `json:"min_coverage"`
	// RequirePinned runs R12 (every requirement pinned name==version). Defaults to true.
	RequirePinned bool `json:"require_pinned"`
}

// DefaultPolicy is seed 003's: every gate on, 90 % coverage, before Production only.
func DefaultPolicy() Policy {
	return Policy{
		Environments:        []contract.Environment{contract.EnvProduction},
		RequireModelCard:    true,
		RequireTestEvidence: true,
		MinCoverage:         0.90,
		RequirePinned:       true,
	}
}

// UnmarshalJSON decodes a policy over the defaults, so a field left out keeps its default (a gate
// is never switched off by omission), and refuses unknown fields (a misspelt switch is an error).
func (p *Policy) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	type plain Policy // without this method
	v := plain(DefaultPolicy())
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("governance policy: %w", err)
	}
	*p = Policy(v)
	return nil
}

// Validate reports every problem with the policy in one error, or nil.
func (p Policy) Validate() error {
	var probs []string
	if len(p.Environments) == 0 {
		probs = append(probs, "environments is empty: name at least one of "+envNames()+
			" (switch gates off with require_model_card, require_test_evidence, require_pinned)")
	}
	for i, env := range p.Environments {
		switch {
		case !slices.Contains(contract.Environments, env):
			probs = append(probs, fmt.Sprintf("environments[%d] %q is not an environment (%s)", i, env, envNames()))
		case slices.Index(p.Environments, env) < i:
			probs = append(probs, fmt.Sprintf("environments[%d] %q is listed twice", i, env))
		}
	}
	if c := p.MinCoverage; math.IsNaN(c) || c < 0 || c > 1 {
		probs = append(probs, fmt.Sprintf("min_coverage %v is not a fraction in 0..1 (write 0.90 for 90 %%)", c))
	}
	if len(probs) == 0 {
		return nil
	}
	return errors.New("governance policy: " + strings.Join(probs, "; "))
}

// AppliesTo says whether the gates run before a deployment to env.
func (p Policy) AppliesTo(env contract.Environment) bool {
	return slices.Contains(p.Environments, env)
}

func envNames() string {
	names := make([]string, len(contract.Environments))
	for i, e := range contract.Environments {
		names[i] = string(e)
	}
	return strings.Join(names, ", ")
}
