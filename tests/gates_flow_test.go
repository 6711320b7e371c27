package tests

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/temporaldeployer/temporaldeployer/contract"
	reg "github.com/temporaldeployer/temporaldeployer/registry"
	"github.com/temporaldeployer/temporaldeployer/store"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// TestGatesEndToEnd (real Prometheus, real model servers, real MLflow, the local control plane,
// the temporal CLI): v1 reaches production through a measured shadow hold; v2's canary walks
// 5 → 20 → 50 → 100 % on measured numbers; v3's canary (its model server slowed by the harness's
// fault switch) fails its analysis and is rolled back at once to stable v2 at 100 %; v4's canary
// (every request failing) fails the probe sent as it takes traffic and is rolled back the same way;
// v5's shadow, fed inputs shifted from its reference profile, is blocked by the drift gate. Before
// them, a model logged without evidence is refused by the registry evidence gates.
func TestGatesEndToEnd(t *testing.T) {
	g := startGatesWorld(t, 5, gatesFaults)
	v1, v2, v3, v4, v5 := "gates-v1-"+g.ns, "gates-v2-"+g.ns, "gates-v3-"+g.ns, "gates-v4-"+g.ns, "gates-v5-"+g.ns
	bareID := "gates-bare-" + g.ns
	t.Run("a model logged without test evidence or a model card is refused before anything moves", func(t *testing.T) {
		bare := realparts.LogSklearnModelWithoutEvidence(t, g.mlflow, "gates-e2e-bare")
		id := bareID
		_, err := g.deploy(t, id, bare)
		if errType(err) != contract.ErrPromotionDenied || !strings.Contains(err.Error(), "R1_test_evidence") ||
			!strings.Contains(err.Error(), "R10_model_card") || strings.Contains(err.Error(), "R12") {
			t.Fatalf("bare model: %v, want PromotionDenied naming R1 and R10 only", err)
		}
		for gate, want := range map[string]string{"R1_test_evidence": "denied", "R10_model_card": "denied", "R12_pinned_requirements": "allowed"} {
			if ds := g.decisions(t, id, gate); len(ds) != 1 || ds[0].Verdict != want {
				t.Errorf("ledger %s: %+v, want one %s", gate, ds, want)
			}
		}
		if _, err := g.reg.Get(context.Background(), g.name, "1"); !reg.IsNotFound(err) {
			t.Errorf("a refused model was registered: %v", err)
		}
	})
	t.Run("v1: the shadow evidence of a real hold is measured and lets Production through", func(t *testing.T) {
		out, err := g.deploy(t, v1, g.models[0])
		if err != nil || out.VersionRecord.Stage != contract.StageProduction || !out.HealthCheckPassed {
			t.Fatalf("v1: %+v, %v", out, err)
		}
		for gate, n := range map[string]int{"R1_test_evidence": 1, "R10_model_card": 1, "R12_pinned_requirements": 2} {
			ds := g.decisions(t, v1, gate)
			if len(ds) != n || slices.ContainsFunc(ds, func(d store.Decision) bool { return d.Verdict != "allowed" }) {
				t.Errorf("ledger %s: %+v, want %d allowed (R12: the MLflow model's, then the bento's)", gate, ds, n)
			}
		}
		ds := g.decisions(t, v1, contract.GateShadowCriteria)
		if len(ds) != 2 {
			t.Fatalf("shadow_criteria decisions %+v: want the Shadow rung's and the Production rung's", ds)
		}
		for _, d := range ds {
			ev, _ := d.Inputs["evidence"].(map[string]any)
			if d.Source != contract.SourceMeasured || d.Verdict != contract.VerdictPassed || ev["requests"].(float64) < 200 {
				t.Errorf("shadow evidence %s/%s %v", d.Source, d.Verdict, ev)
			}
		}
	})
	t.Run("v2: a healthy canary walks to 100 % on measured numbers", func(t *testing.T) {
		out, err := g.deploy(t, v2, g.models[1])
		if err != nil || out.VersionRecord.Version != "2" || out.VersionRecord.Stage != contract.StageProduction {
			t.Fatalf("v2: %+v, %v", out, err)
		}
		steps := g.decisions(t, v2, contract.GateCanaryAnalysis)
		passed := map[float64]bool{}
		for _, d := range steps {
			c, _ := d.Inputs["canary"].(map[string]any)
			if d.Verdict == contract.VerdictPassed && d.Source == contract.SourceMeasured && c["requests"].(float64) > 0 {
				passed[d.Inputs["weight"].(float64)] = true
			}
		}
		if len(passed) != 4 {
			t.Errorf("passed steps %v of %d analyses, want 5, 20, 50 and 100", passed, len(steps))
		}
		if s, found, err := g.k.Current(context.Background(), g.name, "production"); err != nil || !found || s.ModelVersion != "2" {
			t.Errorf("stable after promotion: %+v %v %v", s, found, err)
		}
		// Seed 000's ladder: v1 left Production for Archived as v2 took it, and the ledger says so.
		g.wantStage(t, "1", contract.StageArchived, "")
		g.wantStage(t, "2", contract.StageProduction, "production")
		if ds := g.decisions(t, v2, contract.GateStageChange); !slices.ContainsFunc(ds, func(d store.Decision) bool {
			return d.Verdict == contract.VerdictArchived && d.Inputs["version"] == "1"
		}) {
			t.Errorf("stage_change entries %+v: want v1 archived", ds)
		}
		t.Logf("history of a full production rollout (staging → measured shadow → approval → 4 analysed canary steps): %d events",
			len(g.history(t, v2)))
	})
	t.Run("v3: a slow canary is rolled back automatically, stable at 100 %", func(t *testing.T) {
		_, err := g.deploy(t, v3, g.models[2])
		if errType(err) != contract.ErrAnalysisFailed || !strings.Contains(err.Error(), "p99") || strings.Contains(err.Error(), "inconclusive") {
			t.Fatalf("v3: %v, want AnalysisFailed on its p99 (not on running out of extensions)", err)
		}
		if c := g.rolledBack(t, v3); c["p99_ms"].(float64) < 150 {
			t.Errorf("failed analysis numbers %v: want the slow canary's p99", c)
		}
		// The revert gave Production back to v2 (before, Production was left with no version).
		g.wantStage(t, "2", contract.StageProduction, "production")
		g.wantStage(t, "3", contract.StageShadow, "shadow")
	})
	t.Run("v4: a canary that cannot predict fails its probe as soon as it takes traffic, and is rolled back", func(t *testing.T) {
		_, err := g.deploy(t, v4, g.models[3])
		if errType(err) != contract.ErrAnalysisFailed || !strings.Contains(err.Error(), "failed its probe") {
			t.Fatalf("v4: %v, want AnalysisFailed from the canary's probe", err)
		}
		g.rolledBack(t, v4)
		g.wantStage(t, "2", contract.StageProduction, "production")
		steps := g.decisions(t, v4, contract.GateCanaryAnalysis)
		if last := steps[len(steps)-1]; last.Source != contract.SourceProbe || last.Inputs["probe"] == nil {
			t.Errorf("the failing step was not judged by the probe: %s %v", last.Source, last.Inputs)
		}
	})
	t.Run("v5: a shadow fed shifted inputs is blocked by the drift gate, per-feature PSI in the ledger", func(t *testing.T) {
		g.shadowShift.Store(math.Float64bits(1.5))
		defer g.shadowShift.Store(0)
		_, err := g.deploy(t, v5, g.models[4])
		if errType(err) != contract.ErrDriftDetected {
			t.Fatalf("v5: %v, want DriftDetected", err)
		}
		ds := g.decisions(t, v5, contract.GateDrift)
		if len(ds) != 1 || ds[0].Verdict != contract.VerdictBlocked || ds[0].Source != contract.SourceMeasured {
			t.Fatalf("drift decisions %+v", ds)
		}
		v, _ := ds[0].Inputs["verdict"].(map[string]any)
		features, _ := v["features"].([]any)
		psi, _ := v["worst_psi"].(float64)
		if len(features) != 3 || psi <= 0.2 {
			t.Errorf("drift verdict %v: want three features, the worst above 0.2", v)
		}
		t.Logf("drift blocked v5: %s", ds[0].Reason)
		g.wantStage(t, "2", contract.StageProduction, "production")
		if s, _, _ := g.k.Current(context.Background(), g.name, "production"); s.ModelVersion != "2" {
			t.Errorf("production runs v%s, want v2", s.ModelVersion)
		}
	})
	if ds := g.decisions(t, v1, contract.GateDrift); len(ds) != 1 || ds[0].Verdict != contract.VerdictPassed {
		t.Errorf("v1's shadow drift decisions %+v, want one passed on unshifted inputs", ds)
	} else {
		t.Logf("drift passed v1: %s", ds[0].Reason)
	}
	// Each path's history replays through the current code (and is recorded with RECORD_HISTORY_DIR).
	replayRecorded(t, g.tp, v1, "production_first_measured_shadow.json")
	replayRecorded(t, g.tp, v2, "production_canary_measured.json")
	replayRecorded(t, g.tp, v3, "production_canary_analysis_failed.json")
	replayRecorded(t, g.tp, v4, "production_canary_probe_failed.json")
	replayRecorded(t, g.tp, v5, "production_shadow_drift_blocked.json")
	replayRecorded(t, g.tp, bareID, "production_registry_evidence_refused.json")
}

// rolledBack checks a run whose canary failed its analysis: the last verdict failed, the restore
// verified at weight 0 with stable v2 serving; it logs the rollback time and returns the failing
// canary numbers.
func (g *gatesWorld) rolledBack(t *testing.T, id string) map[string]any {
	t.Helper()
	steps := g.decisions(t, id, contract.GateCanaryAnalysis)
	if len(steps) == 0 || steps[len(steps)-1].Verdict != contract.VerdictFailed {
		t.Fatalf("canary_analysis %+v", steps)
	}
	verified := g.decisions(t, id, contract.GateRollbackVerified)
	if len(verified) != 1 || verified[0].Verdict != contract.VerdictPassed || verified[0].Inputs["canary_weight_read_back"] != 0.0 {
		t.Errorf("rollback_verified %+v", verified)
	}
	if w, err := g.k.Weight(context.Background(), g.name, "production"); err != nil || w != 0 {
		t.Errorf("canary weight read back %d, %v; want 0", w, err)
	}
	if s, _, _ := g.k.Current(context.Background(), g.name, "production"); s.ModelVersion != "2" {
		t.Errorf("stable runs v%s, want v2", s.ModelVersion)
	}
	g.reportRollbackTime(t, id)
	c, _ := steps[len(steps)-1].Inputs["canary"].(map[string]any)
	return c
}

// history reads a run's whole history from the server.
func (g *gatesWorld) history(t *testing.T, id string) []*historypb.HistoryEvent {
	t.Helper()
	it := g.tp.Client.GetWorkflowHistory(context.Background(), id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var evs []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// reportRollbackTime logs, as ratios to the analysis interval (the hold), the time to stable at
// 100 % (the restore done and read back) from the canary taking traffic (its first weight set) and
// from the failing judgement (the measurement or the canary probe that failed it).
func (g *gatesWorld) reportRollbackTime(t *testing.T, id string) {
	scheduled := map[int64]string{}
	var firstWeight, badSample, restored time.Time
	for _, ev := range g.history(t, id) {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil {
			at := ev.GetEventTime().AsTime()
			switch name := scheduled[a.GetScheduledEventId()]; {
			case name == "SetTrafficWeight" && firstWeight.IsZero():
				firstWeight = at
			case restored.IsZero() && !firstWeight.IsZero() && (name == "MeasureCanary" || name == "WatchCanary" || name == "CheckHealth"):
				badSample = at // the last judgement before the restore (a measurement or a probe) is the failing one
			case name == "RestoreWorkload":
				restored = at
			}
		}
	}
	if firstWeight.IsZero() || badSample.IsZero() || restored.IsZero() {
		t.Errorf("history lacks the weight step, the analysis or the restore")
		return
	}
	hold := gatesCanaryHold.Seconds()
	t.Logf("failing canary → stable 100 %%: from first traffic %s = %.2f × the analysis interval (%s); from the failing sample %s = %.2f ×",
		restored.Sub(firstWeight).Round(time.Millisecond), restored.Sub(firstWeight).Seconds()/hold, gatesCanaryHold,
		restored.Sub(badSample).Round(time.Millisecond), restored.Sub(badSample).Seconds()/hold)
}
