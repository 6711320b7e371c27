package config

import (
	"fmt"
	"strings"

	"github.com/temporaldeployer/temporaldeployer/contract"
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
		g.Environments = nil
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				g.Environments = append(g.Environments, contract.Environment(e))
			}
		}
	}
	r.bool("DEPLOYER_REQUIRE_TEST_EVIDENCE", &g.RequireTestEvidence)
	r.float("DEPLOYER_MIN_COVERAGE", &g.MinCoverage)
	r.bool("DEPLOYER_REQUIRE_MODEL_CARD", &g.RequireModelCard)
	r.bool("DEPLOYER_REQUIRE_PINNED", &g.RequirePinned)
}

func (c Config) validateGovernance() error {
	if err := c.Policy.Governance.Validate(); err != nil {
		return fmt.Errorf("DEPLOYER_GOVERNANCE_ENVIRONMENTS / DEPLOYER_MIN_COVERAGE: %w", err)
	}
	return nil
}
