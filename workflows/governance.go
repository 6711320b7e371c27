package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/drift"
	"github.com/temporaldeployer/temporaldeployer/governance"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// gateRegistryEvidence names the ledger decision of a policy the gates cannot run under.
const gateRegistryEvidence = "registry_evidence"

// highestEnvironment is the highest environment of the plan for which applies holds.
func highestEnvironment(rungs []contract.Stage, applies func(contract.Environment) bool) (contract.Environment, bool) {
	for i := len(rungs) - 1; i >= 0; i-- {
		if env := rungs[i].Environment(); applies(env) {
			return env, true
		}
	}
	return "", false
}

// registryEvidenceGate (validate_promotion, gates v7) reads what the registry holds for the
// version and judges it with seed 003's R1 (test evidence), R10 (model card) and R12 (pinned
// requirements, the MLflow model's here, the bento's after packaging) before anything moves.
// Every finding goes to the returned decisions; refusal names each failing rule.
func (w *run) registryEvidenceGate(ctx workflow.Context, rungs []contract.Stage) (ds []store.Decision, refusal, err error) {
	env, ok := highestEnvironment(rungs, w.policy.Governance.AppliesTo)
	driftEnv, needsProfile := highestEnvironment(rungs, w.policy.Drift.Requires)
	if (!ok && !needsProfile) || w.req.Action == contract.ActionRollback {
		return nil, nil, nil
	}
	q := activities.EvidenceQuery{Name: w.req.ModelName, ModelURI: w.req.ModelURI}
	if w.registered {
		q.Name, q.Version = w.version.Name, w.version.Version
	}
	var ev activities.RegistryEvidence
	if err := w.exec(ctx, short("validate_promotion: read registry evidence"), a.ReadRegistryEvidence, q, &ev); err != nil {
		return nil, nil, err
	}
	if ok {
		var findings []governance.Finding
		findings, refusal = governance.Check(w.policy.Governance, env, ev.Evidence)
		for _, f := range findings {
			ds = append(ds, w.findingDecision(ctx, f, ev.TagSources))
		}
		if len(findings) == 0 && refusal != nil { // an invalid policy: the gates fail closed
			ds = append(ds, w.decision(ctx, gateRegistryEvidence, "denied", applicationMessage(refusal), contract.SourceRegistry, w.req.RequestedBy, nil))
		}
		w.evidence = &governedEvidence{env: env, evidence: ev.Evidence}
	}
	if needsProfile {
		f := driftProfileFinding(ev.DriftProfile)
		ds = append(ds, w.findingDecision(ctx, f, nil))
		if !f.Passed {
			msg := "registry evidence refused for " + string(driftEnv) + ": "
			if refusal != nil {
				msg = applicationMessage(refusal) + "; "
			}
			refusal = contract.NewError(contract.ErrPromotionDenied, "%s[%s] %s", msg, f.Rule, f.Detail)
		}
	}
	return ds, refusal, nil
}

// ruleDriftProfile is seed 003's R11 as a registry rule: a model going where the drift policy
// needs it has a valid drift reference profile for the shadow's drift gate.
const ruleDriftProfile = "R11_drift_profile"

// driftProfileFinding judges the version's profile state (activities.Profile*).
func driftProfileFinding(state string) governance.Finding {
	f := governance.Finding{Rule: ruleDriftProfile, Passed: state == activities.ProfilePresent, Inputs: map[string]any{"profile": state}}
	switch {
	case f.Passed:
		f.Detail = "drift reference profile " + drift.ArtifactName + " present and valid"
	case state == activities.ProfileAbsent:
		f.Detail = "no drift reference profile: log " + drift.ArtifactName + " beside MLmodel (README: the drift gate)"
	default:
		f.Detail = drift.ArtifactName + " " + state
	}
	return f
}

// bentoRequirementsGate (package_model, gates v7) is R12 on the bento just built, for a plan the
// registry evidence gates applied to.
func (w *run) bentoRequirementsGate(ctx workflow.Context) (*store.Decision, error) {
	if w.evidence == nil || !w.policy.Governance.RequirePinned {
		return nil, nil
	}
	e := w.evidence.evidence
	e.BentoPending, e.BentoRequirements = false, w.artifact.BentoRequirements
	f := governance.CheckPinnedRequirements(e)
	var refusal error
	if !f.Passed {
		refusal = contract.NewError(contract.ErrPromotionDenied, "registry evidence refused for %s: [%s] %s", w.evidence.env, f.Rule, f.Detail)
	}
	d := w.findingDecision(ctx, f, nil)
	return &d, refusal
}

func (w *run) findingDecision(ctx workflow.Context, f governance.Finding, tagSources map[string]string) store.Decision {
	inputs := map[string]any{}
	for k, v := range f.Inputs {
		inputs[k] = v
	}
	if len(tagSources) > 0 {
		inputs["tag_sources"] = tagSources
	}
	return w.decision(ctx, f.Rule, verdictWord(f.Passed, "allowed", "denied"), f.Detail, contract.SourceRegistry, w.req.RequestedBy, inputs)
}

// governedEvidence is the registry evidence a run's plan was judged on, kept for the bento's R12.
type governedEvidence struct {
	env      contract.Environment
	evidence governance.Evidence
}

// applicationMessage is an ApplicationError's own message (without the SDK's decorations).
func applicationMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
