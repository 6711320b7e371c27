package config

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/drift"
	"github.com/temporaldeployer/temporaldeployer/governance"
)

// governance reads the registry evidence gates (seed 003's R1, R10, R12) over their defaults:
//
//	DEPLOYER_GOVERNANCE_ENVIRONMENTS  where they apply, comma-separated (production)
//	DEPLOYER_REQUIRE_TEST_EVIDENCE    R1: tests.passed > 0, tests.failed = 0, coverage (true)
//	DEPLOYER_MIN_COVERAGE             R1's minimum coverage, a fraction (0.90)
//	DEPLOYER_REQUIRE_MODEL_CARD       R10: a model card on the version (true)
//	DEPLOYER_REQUIRE_PINNED           R12: requirements pinned name==version (true)
func (r *reader) governance(g *governance.Policy) {
	if v, ok := r.raw("DEPLOYER_GOVERNANCE_ENVIRONMENTS"); ok {
		g.Environments = environments(v)
	}
	r.bool("DEPLOYER_REQUIRE_TEST_EVIDENCE", &g.RequireTestEvidence)
	r.float("DEPLOYER_MIN_COVERAGE", &g.MinCoverage)
	r.bool("DEPLOYER_REQUIRE_MODEL_CARD", &g.RequireModelCard)
	r.bool("DEPLOYER_REQUIRE_PINNED", &g.RequirePinned)
}

// DriftPolicy is the shadow hold's input drift gate (seed 003's R11; package drift).
type DriftPolicy struct {
	// Threshold is the PSI above which a feature has drifted (DEPLOYER_DRIFT_THRESHOLD, 0.2).
	Threshold float64 `json:"threshold"`
	// MinTotal and MinExpectedPerBin: fewer inputs per feature, or fewer expected in a bin, is
	// inconclusive (DEPLOYER_DRIFT_MIN_TOTAL 100, DEPLOYER_DRIFT_MIN_EXPECTED_PER_BIN 5).
	MinTotal          float64 `json:"min_total"`
	MinExpectedPerBin float64 `json:"min_expected_per_bin"`
	// RequireProfile: a plan reaching one of these environments needs a drift reference profile on
	// the version and a conclusive drift judgement in the shadow (DEPLOYER_DRIFT_REQUIRE_PROFILE,
	// "production"); elsewhere a model without one is let through with a recorded warning.
	RequireProfile []contract.Environment `json:"require_profile"`
}

// DefaultDrift is the drift policy with no environment overrides.
func DefaultDrift() DriftPolicy {
	return DriftPolicy{Threshold: drift.DefaultThreshold, MinTotal: drift.DefaultMinTotal,
		MinExpectedPerBin: drift.DefaultMinExpectedPerBin, RequireProfile: []contract.Environment{contract.EnvProduction}}
}

// Requires says whether env needs a profile and a conclusive judgement.
func (d DriftPolicy) Requires(env contract.Environment) bool {
	return slices.Contains(d.RequireProfile, env)
}

func (r *reader) drift(d *DriftPolicy) {
	r.float("DEPLOYER_DRIFT_THRESHOLD", &d.Threshold)
	r.float("DEPLOYER_DRIFT_MIN_TOTAL", &d.MinTotal)
	r.float("DEPLOYER_DRIFT_MIN_EXPECTED_PER_BIN", &d.MinExpectedPerBin)
	if v, ok := r.raw("DEPLOYER_DRIFT_REQUIRE_PROFILE"); ok {
		d.RequireProfile = environments(v)
		if strings.TrimSpace(v) == "none" {
			d.RequireProfile = nil
		}
	}
}

func environments(v string) []contract.Environment {
	var out []contract.Environment
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, contract.Environment(e))
		}
	}
	return out
}

func (c Config) validateGovernance() error {
	if err := c.Policy.Governance.Validate(); err != nil {
		return fmt.Errorf("DEPLOYER_GOVERNANCE_ENVIRONMENTS / DEPLOYER_MIN_COVERAGE: %w", err)
	}
	d := c.Policy.Drift
	switch {
	case !(d.Threshold > 0) || math.IsInf(d.Threshold, 0):
		return fmt.Errorf("DEPLOYER_DRIFT_THRESHOLD must be a positive number, got %v", d.Threshold)
	case !(d.MinTotal >= 0) || math.IsInf(d.MinTotal, 0):
		return fmt.Errorf("DEPLOYER_DRIFT_MIN_TOTAL must be a number >= 0, got %v", d.MinTotal)
	case !(d.MinExpectedPerBin >= 0) || math.IsInf(d.MinExpectedPerBin, 0):
		return fmt.Errorf("DEPLOYER_DRIFT_MIN_EXPECTED_PER_BIN must be a number >= 0, got %v", d.MinExpectedPerBin)
	}
	for _, e := range d.RequireProfile {
		if !slices.Contains(contract.Environments, e) {
			return fmt.Errorf("DEPLOYER_DRIFT_REQUIRE_PROFILE: %q is not an environment (or write none)", e)
		}
	}
	return nil
}
