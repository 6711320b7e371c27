package workflows

import (
	"slices"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/contract"
)

// TestPredecessorArchived: seed 000's ladder has Production → Archived. The version a run takes
// Production from is archived by the registry and the ledger says so; when the run's canary fails,
// the revert asks the registry to give Production back to it, and the ledger records that too.
// Before, the predecessor kept its Production tag (two Production versions) and a revert left
// Production with no version.
func TestPredecessorArchived(t *testing.T) {
	failing := func(_ int, r activities.CanaryMeasureRequest) activities.CanaryMeasurement {
		return activities.CanaryMeasurement{Canary: sample(r.Canary, r.From, r.To, 60, 60, 12), Stable: sample(r.Stable, r.From, r.To, 1140, 0, 9)}
	}
	cases := []struct {
		name        string
		held        string // the version in Production before the run
		canary      func(int, activities.CanaryMeasureRequest) activities.CanaryMeasurement
		wantStages  []string
		wantRestore string
	}{
		{"promoted: the predecessor is archived", "7", nil, []string{contract.VerdictPromoted, contract.VerdictArchived}, ""},
		{"canary failed: Production given back", "7", failing, []string{contract.VerdictPromoted, contract.VerdictArchived,
			contract.VerdictReverted, contract.VerdictRestored}, "7"},
		{"first Production: nothing to archive or give back", "", failing, []string{contract.VerdictPromoted, contract.VerdictReverted}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			wd.evidence, wd.inProduction, wd.canary = measuredEvidence(time.Now()), tc.held, tc.canary
			err := productionRun(t, wd, nil)
			if (err != nil) != (tc.canary != nil) {
				t.Fatalf("run: %v", err)
			}
			if got := wd.verdicts(contract.GateStageChange); !slices.Equal(got, tc.wantStages) {
				t.Errorf("stage_change verdicts %v, want %v", got, tc.wantStages)
			}
			if last := wd.promotes[len(wd.promotes)-1]; tc.canary != nil && last.Change.Restore != tc.wantRestore {
				t.Errorf("revert %+v: want Restore %q", last.Change, tc.wantRestore)
			}
			for _, d := range wd.decisions {
				if d.Verdict == contract.VerdictArchived && d.Inputs["version"] != tc.held {
					t.Errorf("archived entry %v: want version %s", d.Inputs, tc.held)
				}
			}
		})
	}
}
