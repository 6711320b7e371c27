package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/drift"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// driftRequest asks the shadow hold (gates v7) to judge input drift under the worker's policy.
func (w *run) driftRequest() *activities.DriftRequest {
	if w.gates < gatesGovernance {
		return nil
	}
	d := w.policy.Drift
	return &activities.DriftRequest{ModelName: w.version.Name, ModelVersion: w.version.Version, Threshold: d.Threshold,
		Options: drift.Options{MinTotal: d.MinTotal, MinExpectedPerBin: d.MinExpectedPerBin}}
}

// judgeDrift turns a hold's drift measurement into the ledger's verdict: a conclusive PSI above
// the threshold always blocks the rollout (seed 003's R11); a judgement that could not be made
// (no profile, too few inputs, no counts) blocks only where the policy requires one, and is
// otherwise recorded as a warning. m is nil when the hold stopped early on its criteria.
func judgeDrift(m *activities.DriftMeasurement, required bool) (verdict, reason string, block bool) {
	switch {
	case m == nil:
		return contract.VerdictSkipped, "the hold stopped early on its criteria: drift not judged", false
	case m.Verdict != nil && m.Verdict.Outcome == drift.OutcomeFailed:
		return contract.VerdictBlocked, m.Verdict.Summary, true
	case m.Verdict != nil && m.Verdict.Outcome == drift.OutcomePassed:
		return contract.VerdictPassed, m.Verdict.Summary, false
	case m.Verdict != nil:
		reason = "drift inconclusive: " + m.Verdict.Summary
		verdict = contract.VerdictInconclusive
	case m.Profile != activities.ProfilePresent:
		reason = fmt.Sprintf("drift not judged: reference profile %s", m.Profile)
		verdict = contract.VerdictSkipped
	default:
		reason = "drift not judged: " + m.SourceError
		verdict = contract.VerdictInconclusive
	}
	if required {
		return contract.VerdictBlocked, reason + " (the drift policy requires a conclusive judgement here)", true
	}
	return verdict, reason + " (recorded as a warning: the drift policy does not require one here)", false
}

// driftDecision is the shadow hold's drift entry for the ledger and, when it blocks, the error
// that stops the run.
func (w *run) driftDecision(ctx workflow.Context, m *activities.DriftMeasurement) (store.Decision, error) {
	verdict, reason, block := judgeDrift(m, w.policy.Drift.Requires(w.req.Environment))
	inputs := map[string]any{"policy": w.policy.Drift}
	if m != nil {
		inputs["profile"] = m.Profile
		if m.Verdict != nil {
			inputs["verdict"] = m.Verdict
		}
		if m.SourceError != "" {
			inputs["source_error"] = m.SourceError
		}
	}
	d := w.decision(ctx, contract.GateDrift, verdict, reason, contract.SourceMeasured, w.req.RequestedBy, inputs)
	if !block {
		return d, nil
	}
	return d, contract.NewError(contract.ErrDriftDetected, "shadow of %s v%s: %s", w.version.Name, w.version.Version, reason)
}
