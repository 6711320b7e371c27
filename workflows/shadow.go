package workflows

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/rules"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// workload names a role of this deployment in an environment, as the metrics source knows it.
func (w *run) workload(env contract.Environment, role kube.Role) rules.Workload {
	return rules.Workload{DeploymentName: w.req.DeploymentName, Environment: string(env), Role: string(role)}
}

// measuredShadowHold is the Shadow rung's hold: the shadow workload takes mirrored traffic while
// HoldShadow samples its metrics (one long, heartbeating activity). The measured evidence is
// judged by seed 000's criteria and recorded — in the ledger as measured, and on the registry
// version as tags; a failed shadow stops the run before the shadow is marked healthy.
func (w *run) measuredShadowHold(ctx workflow.Context) error {
	from := workflow.Now(ctx).UTC()
	until := from.Add(w.req.ShadowHold)
	req := activities.ShadowHoldRequest{Workload: w.workload(contract.EnvShadow, kube.RoleShadow), From: from,
		Hold: w.req.ShadowHold, Every: w.policy.Evidence.SampleEvery, Criteria: w.policy.Shadow, Drift: w.driftRequest()}
	summary := fmt.Sprintf("shadow hold %s for %s v%s, measured every %s", w.req.ShadowHold, w.version.Name,
		w.version.Version, req.Every)
	var m activities.ShadowMeasurement
	if err := w.measuredHold(ctx, waitShadowHold, until, shadowHolding(summary, w.req.ShadowHold), a.HoldShadow, req, &m); err != nil {
		return err
	}
	ev := rules.MeasuredShadow(m.Last, from, m.Samples)
	v := rules.ShadowCriteria(ev, w.policy.Shadow)
	failures := append(append([]string(nil), m.EarlyFailure...), v.Failures...)
	passed := len(failures) == 0
	reason := strings.Join(failures, "; ")
	d := w.decision(ctx, contract.GateShadowCriteria, verdictWord(passed, contract.VerdictPassed, contract.VerdictFailed), reason,
		contract.SourceMeasured, w.req.RequestedBy, map[string]any{"evidence": ev, "criteria": w.policy.Shadow,
			"hold": w.req.ShadowHold.String(), "source_errors": m.SourceErrors, "stopped_early": len(m.EarlyFailure) > 0})
	ds := []store.Decision{d}
	var drifted error
	if req.Drift != nil {
		var dd store.Decision
		dd, drifted = w.driftDecision(ctx, m.Drift)
		ds = append(ds, dd)
	}
	if err := w.record(ctx, store.Change{Decisions: ds}); err != nil {
		return err
	}
	tags := activities.TagRequest{ModelName: w.version.Name, Version: w.version.Version, Tags: shadowTags(ev, passed, w.info.WorkflowExecution.ID)}
	if err := w.exec(ctx, short("tag shadow evidence on "+w.version.Name+" v"+w.version.Version), a.TagVersion, tags, nil); err != nil {
		return err
	}
	if !passed {
		return contract.NewError(contract.ErrShadowCriteriaNotMet, "measured shadow of %s v%s: %s", w.version.Name, w.version.Version, reason)
	}
	if drifted != nil {
		return drifted
	}
	w.shadowEv = &ev
	return nil
}

// shadowTags put the measured evidence on the registry version, for MLflow's own readers.
func shadowTags(ev rules.ShadowEvidence, passed bool, workflowID string) map[string]string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	t := map[string]string{
		"temporaldeployer.shadow.source": ev.Source, "temporaldeployer.shadow.verdict": verdictWord(passed, contract.VerdictPassed, contract.VerdictFailed),
		"temporaldeployer.shadow.duration_hours": f(ev.DurationHours), "temporaldeployer.shadow.requests": strconv.FormatInt(ev.Requests, 10),
		"temporaldeployer.shadow.error_rate": f(ev.ErrorRate), "temporaldeployer.shadow.latency_p99_ms": f(ev.LatencyP99MS),
		"temporaldeployer.shadow.workflow_id": workflowID,
	}
	if ev.HeldTo != nil {
		t["temporaldeployer.shadow.measured_at"] = ev.HeldTo.UTC().Format(time.RFC3339)
	}
	return t
}

// productionEvidence finds the shadow evidence the Production rung judges: this run's measured
// shadow, else measured evidence recorded for the version within the policy's maximum age, else —
// only where the policy allows it — the caller's. Without any, the rung is refused, naming what
// is missing.
func (w *run) productionEvidence(ctx workflow.Context) (rules.ShadowEvidence, string, error) {
	if w.shadowEv != nil {
		return *w.shadowEv, "this run's Shadow rung", nil
	}
	maxAge := w.policy.Evidence.MaxAge
	req := activities.EvidenceRequest{ModelName: w.version.Name, ModelVersion: w.version.Version,
		NotBefore: workflow.Now(ctx).UTC().Add(-maxAge)}
	var found activities.FoundEvidence
	if err := w.exec(ctx, short("find measured shadow evidence of "+w.version.Name+" v"+w.version.Version), a.FindShadowEvidence, req, &found); err != nil {
		return rules.ShadowEvidence{}, "", err
	}
	if found.Found {
		return found.Evidence, fmt.Sprintf("ledger entry %s (workflow %s)", found.Key, found.WorkflowID), nil
	}
	if w.req.CallerShadow && w.policy.Evidence.AllowCallerSupplied {
		return w.req.Shadow, "the request's shadow_mode_* (caller-supplied evidence allowed by policy)", nil
	}
	reason := fmt.Sprintf("no measured shadow evidence for %s v%s within %s: deploy it through the Shadow rung "+
		"(target_environment shadow or production) so the deployer measures it", w.version.Name, w.version.Version, maxAge)
	d := w.decision(ctx, contract.GateShadowEvidence, contract.VerdictDenied, reason, contract.SourceRecords, w.req.RequestedBy,
		map[string]any{"max_age": maxAge.String(), "caller_supplied_allowed": w.policy.Evidence.AllowCallerSupplied})
	return rules.ShadowEvidence{}, "", w.deny(ctx, []store.Decision{d}, contract.ErrShadowCriteriaNotMet, reason)
}

// shadowGate judges the Production rung's shadow evidence and records where it came from.
func (w *run) shadowGate(ctx workflow.Context) error {
	if w.gates < gatesMeasured {
		return w.legacyShadowGate(ctx)
	}
	ev, from, err := w.productionEvidence(ctx)
	if err != nil {
		return err
	}
	v := rules.ShadowCriteria(ev, w.policy.Shadow)
	d := w.decision(ctx, contract.GateShadowCriteria, verdictWord(v.Passed, contract.VerdictPassed, contract.VerdictFailed),
		strings.Join(v.Failures, "; "), ev.Source, w.req.RequestedBy,
		map[string]any{"evidence": ev, "criteria": w.policy.Shadow, "evidence_from": from, "rung": contract.StageProduction})
	if !v.Passed {
		return w.deny(ctx, []store.Decision{d}, contract.ErrShadowCriteriaNotMet, strings.Join(v.Failures, "; "))
	}
	return w.record(ctx, store.Change{Decisions: []store.Decision{d}})
}
