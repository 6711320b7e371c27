package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/temporaldeployer/temporaldeployer/drift"
	"github.com/temporaldeployer/temporaldeployer/metrics"
	"github.com/temporaldeployer/temporaldeployer/registry"
)

// Whether a version has a drift reference profile (RegistryEvidence.DriftProfile,
// DriftMeasurement.Profile); an invalid one is "invalid: " and why.
const (
	ProfilePresent = "present"
	ProfileAbsent  = "absent"
)

// DriftRequest asks the shadow hold to judge the shadow's input drift over its window, against the
// version's reference profile (read from the registry at the end of the hold).
type DriftRequest struct {
	ModelName    string        `json:"model_name"`
	ModelVersion string        `json:"model_version"`
	Threshold    float64       `json:"threshold"`
	Options      drift.Options `json:"options"`
}

// DriftMeasurement is the drift judgement of a hold: whether the version has a profile, the
// verdict over the measured counts when it has, or why the counts could not be had.
type DriftMeasurement struct {
	Profile     string         `json:"profile"`
	Verdict     *drift.Verdict `json:"verdict,omitempty"`
	SourceError string         `json:"source_error,omitempty"`
}

// profileState parses a profile's text: ProfilePresent, ProfileAbsent ("" text) or "invalid: …".
func profileState(text string, found bool) (drift.Profile, string) {
	if !found {
		return drift.Profile{}, ProfileAbsent
	}
	p, err := drift.ParseProfile([]byte(text))
	if err != nil {
		return drift.Profile{}, "invalid: " + err.Error()
	}
	return p, ProfilePresent
}

// measureDrift judges the shadow's inputs over [from, end] against the version's profile. An
// error (the registry or the metrics source unreachable) fails the activity, which Temporal
// retries: the window is fixed, so a retry judges the same inputs.
func (a *Activities) measureDrift(ctx context.Context, r ShadowHoldRequest, end time.Time) (*DriftMeasurement, error) {
	d := r.Drift
	reader, ok := a.Registry.(registry.EvidenceReader)
	if !ok {
		return nil, notConfigured("registry evidence", "the drift gate")
	}
	ev, err := reader.ReadEvidence(ctx, d.ModelName, d.ModelVersion, "", []string{drift.ArtifactName})
	if err != nil {
		return nil, registryError("read the drift reference profile of "+d.ModelName+"/"+d.ModelVersion, err)
	}
	text, found := ev.Files[drift.ArtifactName]
	profile, state := profileState(text, found)
	m := &DriftMeasurement{Profile: state}
	if state != ProfilePresent {
		return m, nil
	}
	bc, ok := a.Metrics.(metrics.BinCounter)
	if !ok {
		m.SourceError = "the metrics source cannot count inputs per feature and bin"
		return m, nil
	}
	bins, err := bc.FeatureBins(ctx, r.Workload, r.From, end)
	if err != nil {
		return nil, fmt.Errorf("drift counts of %s over %s..%s: %w", r.Workload, r.From.Format(time.RFC3339), end.Format(time.RFC3339), err)
	}
	v, err := drift.Judge(profile, binCounts(profile, bins), d.Threshold, d.Options)
	if err != nil {
		m.SourceError = err.Error()
		return m, nil
	}
	m.Verdict = &v
	return m, nil
}

// binCounts orders the measured counts of each profiled feature by its bins; a feature with no
// series is left out (Judge calls it inconclusive), and features the profile lacks are passed on
// to be listed.
func binCounts(p drift.Profile, bins map[string]map[string]float64) map[string][]float64 {
	out := map[string][]float64{}
	known := map[string]bool{}
	for _, f := range p.Features {
		known[f.Name] = true
		m, ok := bins[f.Name]
		if !ok {
			continue
		}
		counts := make([]float64, len(f.Edges)+1)
		for i, label := range f.BinLabels() {
			counts[i] = m[label]
		}
		out[f.Name] = counts
	}
	for name := range bins {
		if !known[name] {
			out[name] = nil
		}
	}
	return out
}
