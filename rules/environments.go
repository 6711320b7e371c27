package rules

import (
	"fmt"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// EnvSettings are seed 000's per-environment replica and autoscaling settings.
type EnvSettings struct {
	Replicas         int `json:"replicas"`
	MinReplicas      int `json:"min_replicas"`
	MaxReplicas      int `json:"max_replicas"`
	TargetCPUPercent int `json:"target_cpu_percent"`
}

// SettingsFor returns an environment's settings.
func SettingsFor(env contract.Environment) (EnvSettings, bool) {
	switch env {
	case contract.EnvStaging:
		return EnvSettings{Replicas: 1, MinReplicas: 1, MaxReplicas: 3, TargetCPUPercent: 80}, true
	case contract.EnvShadow:
		return EnvSettings{Replicas: 2, MinReplicas: 1, MaxReplicas: 5, TargetCPUPercent: 80}, true
	case contract.EnvProduction:
		return EnvSettings{Replicas: 3, MinReplicas: 2, MaxReplicas: 10, TargetCPUPercent: 70}, true
	}
	return EnvSettings{}, false
}

// BentoTag is seed 000's bento tag: e2i_{experiment_id}_model:v{version}.
func BentoTag(experimentID, version string) string {
	return fmt.Sprintf("e2i_%s_model:v%s", experimentID, version)
}

// DefaultCanarySteps is seed 002's rollout: 5 → 20 → 50 → 100 %.
func DefaultCanarySteps() []int { return []int{5, 20, 50, 100} }

// CheckCanarySteps validates traffic weights: strictly increasing, each in 1..100, ending at 100.
func CheckCanarySteps(steps []int) error {
	if len(steps) == 0 {
		return fmt.Errorf("needs at least one step")
	}
	prev := 0
	for i, s := range steps {
		if s < 1 || s > 100 {
			return fmt.Errorf("step %d is %d%%, outside 1..100", i, s)
		}
		if s <= prev {
			return fmt.Errorf("step %d (%d%%) does not increase on %d%%", i, s, prev)
		}
		prev = s
	}
	if prev != 100 {
		return fmt.Errorf("last step is %d%%; a rollout ends at 100%%", prev)
	}
	return nil
}
