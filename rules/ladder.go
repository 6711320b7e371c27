package rules

import (
	"fmt"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// allowedPromotions is seed 000's stage ladder: no skipping, Archived is terminal.
var allowedPromotions = map[contract.Stage][]contract.Stage{
	contract.StageNone:       {contract.StageStaging},
	contract.StageStaging:    {contract.StageShadow, contract.StageArchived},
	contract.StageShadow:     {contract.StageProduction, contract.StageArchived},
	contract.StageProduction: {contract.StageArchived},
	contract.StageArchived:   {},
}

// mainPath is the ladder's serving path, in order.
var mainPath = []contract.Stage{contract.StageNone, contract.StageStaging, contract.StageShadow, contract.StageProduction}

// TransitionAllowed reports whether a version may move from one stage to another in one step.
func TransitionAllowed(from, to contract.Stage) bool {
	for _, s := range allowedPromotions[from] {
		if s == to {
			return true
		}
	}
	return false
}

func rank(s contract.Stage) int {
	for i, m := range mainPath {
		if m == s {
			return i
		}
	}
	return -1
}

// Rungs plans the stages a run walks, one validated rung at a time, from the version's current
// stage. deploy walks up to the target environment's stage (a version already there is redeployed
// on that rung); promote moves exactly one rung, which must be the target; rollback walks none.
// A plan that would skip, demote or leave Archived is denied with the reason.
func Rungs(current contract.Stage, action contract.Action, target contract.Environment) ([]contract.Stage, error) {
	want := target.Stage()
	from, to := rank(current), rank(want)
	switch {
	case action == contract.ActionRollback:
		return nil, nil
	case current == contract.StageArchived:
		return nil, fmt.Errorf("version is Archived; an archived version cannot be promoted or deployed")
	case from < 0 || to < 0:
		return nil, fmt.Errorf("no ladder path from %s to %s", current, want)
	case action == contract.ActionPromote && to != from+1:
		return nil, fmt.Errorf("promote moves exactly one rung: %s may go to %s, not %s (no skipping)",
			current, nextNames(current), want)
	case action == contract.ActionDeploy && to < from:
		return nil, fmt.Errorf("version is in %s; deploying it to %s would demote it", current, target)
	case action == contract.ActionDeploy && to == from:
		return []contract.Stage{want}, nil
	}
	return append([]contract.Stage(nil), mainPath[from+1:to+1]...), nil
}

func nextNames(s contract.Stage) string {
	next := allowedPromotions[s]
	if len(next) == 0 {
		return "nothing"
	}
	out := string(next[0])
	for _, n := range next[1:] {
		out += " or " + string(n)
	}
	return out
}
