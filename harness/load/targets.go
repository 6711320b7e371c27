package load

import (
	"context"

	"github.com/temporaldeployer/temporaldeployer/harness"
	"github.com/temporaldeployer/temporaldeployer/metrics"
)

// LiveEnvironment is where a deployment's live traffic goes: production once it has a stable or
// canary workload there (at 100 % the replica router scales the stable to zero), staging before.
func LiveEnvironment(groups []harness.TargetGroup, deployment string) string {
	for _, g := range groups {
		l := g.Labels
		if l[metrics.LabelDeployment] == deployment && l[metrics.LabelEnvironment] == "production" &&
			(l[metrics.LabelRole] == "stable" || l[metrics.LabelRole] == "canary") {
			return "production"
		}
	}
	return "staging"
}

// FromTargetsFile finds a deployment's workloads in the loopback harness's targets file: stable and
// canary of the live environment (environment, or LiveEnvironment when empty), and its shadow.
func FromTargetsFile(path, deployment, environment string) func(context.Context) (Targets, error) {
	return func(context.Context) (Targets, error) {
		groups, err := harness.ReadTargets(path)
		if err != nil {
			return Targets{}, err
		}
		live := environment
		if live == "" {
			live = LiveEnvironment(groups, deployment)
		}
		var t Targets
		for _, g := range groups {
			l := g.Labels
			if l[metrics.LabelDeployment] != deployment {
				continue
			}
			for _, host := range g.Targets {
				base := "http://" + host
				switch {
				case l[metrics.LabelEnvironment] == live && l[metrics.LabelRole] == "stable":
					t.Stable = append(t.Stable, base)
				case l[metrics.LabelEnvironment] == live && l[metrics.LabelRole] == "canary":
					t.Canary = append(t.Canary, base)
				case l[metrics.LabelRole] == "shadow":
					t.Shadow = append(t.Shadow, base)
				}
			}
		}
		return t, nil
	}
}
