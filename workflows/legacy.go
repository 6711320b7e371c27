package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/probe"
	"github.com/temporaldeployer/temporaldeployer/rules"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// The gates of runs started before changeGates (versions.go): kept only so those runs replay and
// finish as they began. New runs never take these paths.

// legacyShadowGate judges the caller-supplied shadow evidence for the Production rung.
func (w *run) legacyShadowGate(ctx workflow.Context) error {
	ev := w.req.Shadow
	v := rules.ShadowCriteria(ev, w.policy.Shadow)
	d := w.decision(ctx, contract.GateShadowCriteria, verdictWord(v.Passed, contract.VerdictPassed, contract.VerdictFailed),
		strings.Join(v.Failures, "; "), ev.Source, w.req.RequestedBy, map[string]any{"evidence": ev, "criteria": w.policy.Shadow})
	if !v.Passed {
		return w.deny(ctx, []store.Decision{d}, contract.ErrShadowCriteriaNotMet, strings.Join(v.Failures, "; "))
	}
	return w.record(ctx, store.Change{Decisions: []store.Decision{d}})
}

// legacyShadowHold is a timer hold whose evidence is the caller's.
func (w *run) legacyShadowHold(ctx workflow.Context) error {
	summary := fmt.Sprintf("shadow hold %s for %s v%s", w.req.ShadowHold, w.version.Name, w.version.Version)
	if err := w.hold(ctx, waitShadowHold, summary, w.req.ShadowHold); err != nil {
		return err
	}
	ev := w.req.Shadow
	v := rules.ShadowCriteria(ev, w.policy.Shadow)
	d := w.decision(ctx, contract.GateShadowCriteria, verdictWord(v.Passed, contract.VerdictPassed, contract.VerdictFailed), fmt.Sprint(v.Failures),
		ev.Source, w.req.RequestedBy, map[string]any{"evidence": ev, "criteria": w.policy.Shadow, "hold": w.req.ShadowHold.String()})
	return w.record(ctx, store.Change{Decisions: []store.Decision{d}})
}

// legacyCanaryStep holds and probes the canary (readiness and metrics endpoint only).
func (w *run) legacyCanaryStep(ctx workflow.Context, weight int, ro kube.Rollout) error {
	summary := fmt.Sprintf("canary hold at %d%% for %s", weight, w.req.CanaryHold)
	if err := w.hold(ctx, waitCanaryHold, summary, w.req.CanaryHold); err != nil {
		return err
	}
	res, err := w.probe(ctx, fmt.Sprintf("canary analysis at %d%%", weight), probe.Target{HealthURL: ro.HealthURL, MetricsURL: ro.MetricsURL})
	if err != nil {
		return err
	}
	d := w.decision(ctx, contract.GateCanaryAnalysis, verdictWord(res.Healthy, contract.VerdictPassed, contract.VerdictFailed), res.Error,
		contract.SourceMeasured, "", map[string]any{"weight": weight, "probe": res})
	if err := w.record(ctx, store.Change{Decisions: []store.Decision{d}}); err != nil {
		return err
	}
	if !res.Healthy {
		return contract.NewError(contract.ErrHealthCheckFailed, "canary analysis failed at %d%%: %s", weight, res.Error)
	}
	return nil
}
