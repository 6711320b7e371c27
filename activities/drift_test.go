package activities

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/drift"
	"github.com/temporaldeployer/temporaldeployer/registry"
	"github.com/temporaldeployer/temporaldeployer/rules"
)

// binSource is a unit-test double of a metrics source that also counts feature bins.
type binSource struct {
	fakeSource
	bins map[string]map[string]float64
	err  error
}

func (b *binSource) FeatureBins(context.Context, rules.Workload, time.Time, time.Time) (map[string]map[string]float64, error) {
	return b.bins, b.err
}

// profileRegistry is a unit-test double of the registry's evidence reader.
type profileRegistry struct {
	registry.Registry
	files map[string]string
}

func (p profileRegistry) ReadEvidence(_ context.Context, _, _, _ string, files []string) (registry.Evidence, error) {
	ev := registry.Evidence{Files: map[string]string{}}
	for _, f := range files {
		if text, ok := p.files[f]; ok {
			ev.Files[f] = text
		}
	}
	return ev, nil
}

const testProfile = `{"version":1,"features":[{"name":"f0","edges":[0],"expected":[0.5,0.5]},{"name":"f1","edges":[0],"expected":[0.5,0.5]}]}`

// TestHoldShadowDrift: at the end of the hold the shadow's counts are judged against the
// version's profile, ordered by the profile's bins; no profile and an invalid one are said so; a
// failing count query fails the activity (Temporal retries it over the same window).
func TestHoldShadowDrift(t *testing.T) {
	good := func(int, time.Time, time.Time) (rules.Sample, error) {
		return rules.Sample{Requests: 500, P99MS: 20}, nil
	}
	even := map[string]map[string]float64{"f0": {"0": 300, "1": 300}, "f1": {"0": 290, "1": 310}}
	cases := []struct {
		name        string
		files       map[string]string
		bins        map[string]map[string]float64
		binsErr     error
		wantProfile string
		wantOutcome string
		wantErr     string
	}{
		{"even counts pass", map[string]string{drift.ArtifactName: testProfile}, even, nil, ProfilePresent, drift.OutcomePassed, ""},
		{"shifted counts fail", map[string]string{drift.ArtifactName: testProfile},
			map[string]map[string]float64{"f0": {"0": 60, "1": 540}, "f1": {"0": 290, "1": 310}}, nil, ProfilePresent, drift.OutcomeFailed, ""},
		{"no counts for a feature is inconclusive", map[string]string{drift.ArtifactName: testProfile},
			map[string]map[string]float64{"f0": {"0": 300, "1": 300}}, nil, ProfilePresent, drift.OutcomeInconclusive, ""},
		{"no profile", nil, even, nil, ProfileAbsent, "", ""},
		{"invalid profile", map[string]string{drift.ArtifactName: `{"version":2}`}, even, nil, "invalid: ", "", ""},
		{"count query fails", map[string]string{drift.ArtifactName: testProfile}, nil, errors.New("503"), "", "", "drift counts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestActivityEnvironment()
			acts := &Activities{Metrics: &binSource{fakeSource: fakeSource{fn: good}, bins: tc.bins, err: tc.binsErr},
				Registry: profileRegistry{files: tc.files}}
			env.RegisterActivity(acts)
			req := ShadowHoldRequest{Workload: rules.Workload{DeploymentName: "fraud", Environment: "shadow", Role: "shadow"},
				From: time.Now(), Hold: 150 * time.Millisecond, Every: 100 * time.Millisecond, Criteria: config.DefaultPolicy().Shadow,
				Drift: &DriftRequest{ModelName: "fraud", ModelVersion: "3", Threshold: 0.2}}
			v, err := env.ExecuteActivity(acts.HoldShadow, req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var m ShadowMeasurement
			if err := v.Get(&m); err != nil {
				t.Fatal(err)
			}
			if m.Drift == nil || !strings.HasPrefix(m.Drift.Profile, tc.wantProfile) {
				t.Fatalf("drift %+v, want profile %q", m.Drift, tc.wantProfile)
			}
			got := ""
			if m.Drift.Verdict != nil {
				got = m.Drift.Verdict.Outcome
			}
			if got != tc.wantOutcome {
				t.Errorf("outcome %q (%+v), want %q", got, m.Drift.Verdict, tc.wantOutcome)
			}
		})
	}
}
