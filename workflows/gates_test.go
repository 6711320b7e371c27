package workflows

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/kube"
	"github.com/temporaldeployer/temporaldeployer/rules"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// shadowRun deploys a Staging version to the shadow environment with the hold answering hold.
func shadowRun(t *testing.T, hold func(activities.ShadowHoldRequest) (activities.ShadowMeasurement, error)) (*world, error) {
	t.Helper()
	var s suite
	wd := newWorld()
	wd.stage, wd.registered = contract.StageStaging, true
	wd.shadowHold = hold
	env := s.env(t, wd)
	in := input()
	in.TargetEnvironment = contract.EnvShadow
	env.ExecuteWorkflow(contract.WorkflowType, in)
	_, err := result(t, env)
	return wd, err
}

// TestMeasuredShadowCriteria: the Shadow rung judges seed 000's criteria on the numbers the hold
// measured, at each criterion's boundary; a failure stops the run and the shadow is not kept.
func TestMeasuredShadowCriteria(t *testing.T) {
	cases := []struct {
		name                string
		held                time.Duration
		requests, errs, p99 float64
		early               []string
		wantErr             string
		wantIn              string // in the error
	}{
		{"all bars met", 24 * time.Hour, 1000, 9, 149, nil, "", ""},
		{"999 requests", 24 * time.Hour, 999, 0, 10, nil, contract.ErrShadowCriteriaNotMet, "requests 999"},
		{"error rate at 1%", 24 * time.Hour, 1000, 10, 10, nil, contract.ErrShadowCriteriaNotMet, "error rate 0.01"},
		{"p99 at 150 ms", 24 * time.Hour, 1000, 0, 150, nil, contract.ErrShadowCriteriaNotMet, "p99 latency 150ms"},
		{"held 23h59m", 24*time.Hour - time.Minute, 5000, 0, 10, nil, contract.ErrShadowCriteriaNotMet, "duration 23.98"},
		{"held 20h really, although 24h was asked", 20 * time.Hour, 5000, 0, 10, nil, contract.ErrShadowCriteriaNotMet, "duration 20h"},
		{"no data", 24 * time.Hour, 0, 0, 0, nil, contract.ErrShadowCriteriaNotMet, "no data"},
		{"stopped early", 3 * time.Hour, 1200, 60, 20, []string{"shadow errors 60 of 1200 requests"}, contract.ErrShadowCriteriaNotMet, "shadow errors 60"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd, err := shadowRun(t, func(r activities.ShadowHoldRequest) (activities.ShadowMeasurement, error) {
				return activities.ShadowMeasurement{Last: sample(r.Workload, r.From, r.From.Add(tc.held), tc.requests, tc.errs, tc.p99),
					Samples: 12, EarlyFailure: tc.early}, nil
			})
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v), want %q", got, err, tc.wantErr)
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("error %q does not say %q", err, tc.wantIn)
			}
			want := map[bool]string{true: "passed", false: "failed"}[tc.wantErr == ""]
			if got := wd.verdicts(contract.GateShadowCriteria); len(got) != 1 || got[0] != want {
				t.Errorf("shadow_criteria %v, want [%s]", got, want)
			}
			for _, d := range wd.decisions {
				if d.Gate == contract.GateShadowCriteria && d.Source != contract.SourceMeasured {
					t.Errorf("shadow evidence source %q, want measured", d.Source)
				}
			}
			if tc.wantErr == "" {
				return
			}
			if wd.stage != contract.StageStaging || len(wd.restores) != 1 {
				t.Errorf("a failed shadow must be undone: stage %s, restores %+v", wd.stage, wd.restores)
			}
			for _, row := range wd.rows {
				if row.Status == "healthy" {
					t.Errorf("shadow deployment %s marked healthy although its criteria failed", row.DeploymentID)
				}
			}
		})
	}
}

// productionRun deploys a Shadow version to production, approved after a minute.
func productionRun(t *testing.T, wd *world, mutate func(*contract.Input)) error {
	t.Helper()
	var s suite
	wd.stage, wd.registered, wd.knownGood = contract.StageShadow, true, knownGood()
	env := s.env(t, wd)
	in := input()
	in.TargetEnvironment, in.CanaryHold = contract.EnvProduction, "10m"
	if mutate != nil {
		mutate(&in)
	}
	approveAfter(t, env, time.Minute)
	env.ExecuteWorkflow(contract.WorkflowType, in)
	_, err := result(t, env)
	return err
}

// TestProductionEvidence: the Production rung takes measured evidence recorded for the version
// (within the policy's maximum age); without it the rung is refused before anything moves;
// caller-supplied evidence counts only under a permissive policy.
func TestProductionEvidence(t *testing.T) {
	now := time.Now() // the test env's clock starts at the wall clock
	cases := []struct {
		name       string
		evidence   *activities.FoundEvidence
		permissive bool
		caller     bool
		wantErr    string
		wantSource string
	}{
		{"recorded measured evidence", measuredEvidence(now), false, false, "", contract.SourceMeasured},
		{"no measured evidence", nil, false, false, contract.ErrShadowCriteriaNotMet, ""},
		{"evidence older than the maximum age", measuredEvidence(now.Add(-8 * 24 * time.Hour)), false, false, contract.ErrShadowCriteriaNotMet, ""},
		{"caller-supplied refused by default", nil, false, true, contract.ErrInvalidInput, ""},
		{"caller-supplied under a permissive policy", nil, true, true, "", contract.SourceCallerSupplied},
		{"measured wins over caller-supplied", measuredEvidence(now), true, true, "", contract.SourceMeasured},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			wd.evidence = tc.evidence
			wd.policy.Evidence.AllowCallerSupplied = tc.permissive
			err := productionRun(t, wd, func(in *contract.Input) {
				if tc.caller {
					goodShadow(in)
				}
			})
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v), want %q", got, err, tc.wantErr)
			}
			if tc.wantErr != "" {
				if wd.stage != contract.StageShadow || wd.calls["DeployWorkload"] != 0 || wd.calls["PromoteStage"] != 0 {
					t.Errorf("something moved: stage %s calls %v", wd.stage, wd.calls)
				}
				if tc.wantErr == contract.ErrShadowCriteriaNotMet && !strings.Contains(err.Error(), "no measured shadow evidence") {
					t.Errorf("error %q does not name what is missing", err)
				}
				return
			}
			var sources []string
			for _, d := range wd.decisions {
				if d.Gate == contract.GateShadowCriteria {
					sources = append(sources, d.Source)
				}
			}
			if len(sources) != 1 || sources[0] != tc.wantSource {
				t.Errorf("shadow_criteria sources %v, want [%s]", sources, tc.wantSource)
			}
		})
	}
}

// TestCanaryAnalysis: each step is judged on the metrics of its hold; inconclusive extends the
// hold up to its limit; metric-source errors are tolerated up to theirs and never pass; a failed
// analysis rolls back to stable at once with AnalysisFailed carrying the numbers.
func TestCanaryAnalysis(t *testing.T) {
	good := func(r activities.CanaryMeasureRequest) activities.CanaryMeasurement {
		return activities.CanaryMeasurement{Canary: sample(r.Canary, r.From, r.To, 500, 1, 40), Stable: sample(r.Stable, r.From, r.To, 9500, 10, 38)}
	}
	few := func(r activities.CanaryMeasureRequest) activities.CanaryMeasurement {
		return activities.CanaryMeasurement{Canary: sample(r.Canary, r.From, r.To, 10, 0, 40), Stable: sample(r.Stable, r.From, r.To, 200, 0, 38)}
	}
	failing := func(r activities.CanaryMeasureRequest) activities.CanaryMeasurement {
		return activities.CanaryMeasurement{Canary: sample(r.Canary, r.From, r.To, 60, 60, 12), Stable: sample(r.Stable, r.From, r.To, 1140, 0, 9)}
	}
	down := func(activities.CanaryMeasureRequest) activities.CanaryMeasurement {
		return activities.CanaryMeasurement{SourceError: "prometheus: connection refused"}
	}
	cases := []struct {
		name        string
		answer      func(round int, r activities.CanaryMeasureRequest) activities.CanaryMeasurement
		wantErr     string
		wantWeights []int
		wantRuns    int
		wantIn      string
	}{
		{"healthy canary walks to 100%", func(int, activities.CanaryMeasureRequest) activities.CanaryMeasurement {
			return activities.CanaryMeasurement{}
		}, "", nil, 0, ""},
		{"inconclusive once, then passes", func(n int, r activities.CanaryMeasureRequest) activities.CanaryMeasurement {
			if n == 1 {
				return few(r)
			}
			return good(r)
		}, "", []int{5, 20, 50, 100}, 5, ""},
		{"one cold request among 105 is no p99 yet: the step extends, then passes", func(n int, r activities.CanaryMeasureRequest) activities.CanaryMeasurement {
			if n == 1 { // TestGatesEndToEnd's healthy canary on CI, failed at gates version 3
				return activities.CanaryMeasurement{Canary: sample(r.Canary, r.From, r.To, 105, 0, 151.5), Stable: sample(r.Stable, r.From, r.To, 337, 0, 24.08)}
			}
			return good(r)
		}, "", []int{5, 20, 50, 100}, 5, ""},
		{"inconclusive past the limit fails", func(_ int, r activities.CanaryMeasureRequest) activities.CanaryMeasurement { return few(r) },
			contract.ErrAnalysisFailed, []int{5}, 4, "still inconclusive after 3 extensions"},
		{"failing canary rolls back at 5%", func(_ int, r activities.CanaryMeasureRequest) activities.CanaryMeasurement { return failing(r) },
			contract.ErrAnalysisFailed, []int{5}, 1, "canary 60 requests, 60 errors"},
		{"fails at 50% after passing 5 and 20", func(n int, r activities.CanaryMeasureRequest) activities.CanaryMeasurement {
			if n == 3 {
				return failing(r)
			}
			return good(r)
		}, contract.ErrAnalysisFailed, []int{5, 20, 50}, 3, "at 50%"},
		{"metric-source errors within the limit", func(n int, r activities.CanaryMeasureRequest) activities.CanaryMeasurement {
			if n <= 2 {
				return down(r)
			}
			return good(r)
		}, "", []int{5, 20, 50, 100}, 6, ""},
		{"a sample during the hold breaks a hard limit: the step stops early and fails", func(_ int, r activities.CanaryMeasureRequest) activities.CanaryMeasurement {
			m := failing(r)
			m.Canary.End = r.From.Add(20 * time.Second)
			m.Samples, m.EarlyFailure = 2, []string{"canary errors 60 of 60 requests"}
			return m
		}, contract.ErrAnalysisFailed, []int{5}, 1, "canary 60 requests, 60 errors"},
		{"metric-source errors past the limit fail, never pass", func(_ int, r activities.CanaryMeasureRequest) activities.CanaryMeasurement { return down(r) },
			contract.ErrAnalysisFailed, []int{5}, 3, "metrics source failed 3 times"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			wd.evidence = measuredEvidence(time.Now())
			if tc.wantWeights != nil {
				wd.canary = tc.answer
			}
			err := productionRun(t, wd, nil)
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v), want %q", got, err, tc.wantErr)
			}
			want := tc.wantWeights
			if want == nil {
				want = []int{5, 20, 50, 100}
			}
			if len(wd.weights) != len(want) {
				t.Errorf("weights %v, want %v", wd.weights, want)
			}
			if tc.wantRuns > 0 && wd.canaryRuns != tc.wantRuns {
				t.Errorf("%d analyses, want %d", wd.canaryRuns, tc.wantRuns)
			}
			if tc.wantErr == "" {
				if wd.calls["PromoteCanary"] != 1 {
					t.Errorf("canary not promoted: %v", wd.calls)
				}
				return
			}
			if !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("error %q does not say %q", err, tc.wantIn)
			}
			if wd.calls["PromoteCanary"] != 0 || len(wd.restores) != 1 || wd.restores[0].To == nil || wd.restores[0].To.ModelVersion != "0" {
				t.Errorf("want an immediate restore of stable v0 and no promotion: calls %v restores %+v", wd.calls, wd.restores)
			}
			if got := wd.verdicts(contract.GateCanaryAnalysis); len(got) == 0 || got[len(got)-1] != contract.VerdictFailed {
				t.Errorf("canary_analysis verdicts %v: the last must be failed", got)
			}
			if got := wd.verdicts(contract.GateRollbackVerified); len(got) != 1 || got[0] != contract.VerdictPassed {
				t.Errorf("rollback not verified: %v", got)
			}
			if strings.Contains(tc.name, "stops early") {
				d := wd.decisions[slices.IndexFunc(wd.decisions, func(d store.Decision) bool { return d.Gate == contract.GateCanaryAnalysis })]
				if d.Inputs["stopped_early"] != true || fmt.Sprint(d.Inputs["samples"]) != "2" || d.Inputs["window_s"] != 20.0 {
					t.Errorf("early stop not in the ledger: %v", d.Inputs)
				}
			}
		})
	}
}

// TestCanaryPolicyBounds: a straight cut-over or a first step above the policy's is refused
// before anything moves; so is a looser analysis than the policy's ceilings.
func TestCanaryPolicyBounds(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	cases := []struct {
		name   string
		mutate func(*contract.Input)
		field  string
	}{
		{"straight cut-over", func(in *contract.Input) { in.CanarySteps = []int{100} }, "canary_steps"},
		{"first step 50%", func(in *contract.Input) { in.CanarySteps = []int{50, 75, 100} }, "canary_steps"},
		{"error-rate bar looser than the ceiling", func(in *contract.Input) {
			in.CanaryAnalysis = &contract.CanaryAnalysis{MaxErrorRate: f(0.2)}
		}, "canary_analysis.max_error_rate"},
		{"p99 bar 0", func(in *contract.Input) {
			in.CanaryAnalysis = &contract.CanaryAnalysis{MaxP99MS: f(0)}
		}, "canary_analysis.max_p99_ms"},
		{"hold above the policy maximum", func(in *contract.Input) { in.CanaryHold = "3h" }, "canary_hold"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			wd.evidence = measuredEvidence(time.Now())
			err := productionRun(t, wd, tc.mutate)
			if errType(err) != contract.ErrInvalidInput || !strings.HasPrefix(rootMessage(err), tc.field+":") {
				t.Fatalf("got %v, want InvalidInput naming %s", err, tc.field)
			}
			if len(wd.weights) != 0 || wd.calls["DeployWorkload"] != 0 {
				t.Errorf("something moved: %v", wd.calls)
			}
		})
	}
}

// TestAbortDuringCanaryStep: an abort in any step's hold restores stable and fails Aborted.
func TestAbortDuringCanaryStep(t *testing.T) {
	for i, at := range []time.Duration{5 * time.Minute, 15 * time.Minute, 25 * time.Minute, 35 * time.Minute} {
		wd := newWorld()
		wd.knownGood = knownGood()
		if err := abortedCanary(t, wd, at); errType(err) != contract.ErrAborted {
			t.Fatalf("abort at %s: %v", at, err)
		}
		if len(wd.weights) != i+1 || len(wd.restores) != 1 || wd.calls["PromoteCanary"] != 0 {
			t.Errorf("abort at %s: weights %v restores %d calls %v", at, wd.weights, len(wd.restores), wd.calls)
		}
	}
}

// abortedCanary runs a production deploy of a Shadow version in wd with 10-minute canary holds,
// approved after a minute, and sends an abort at (noted in wd.sequence); it returns the run's error.
func abortedCanary(t *testing.T, wd *world, at time.Duration) error {
	t.Helper()
	var s suite
	wd.stage, wd.registered = contract.StageShadow, true
	env := s.env(t, wd)
	wd.evidence = measuredEvidence(env.Now())
	in := input()
	in.TargetEnvironment, in.CanaryHold = contract.EnvProduction, "10m"
	approveAfter(t, env, time.Minute)
	env.RegisterDelayedCallback(func() {
		wd.sequence = append(wd.sequence, "abort")
		env.SignalWorkflow(contract.SignalAbort, contract.AbortSignal{Reason: "pager", RequestedBy: "oncall"})
	}, at)
	env.ExecuteWorkflow(contract.WorkflowType, in)
	_, err := result(t, env)
	return err
}

// TestAbortRestoresFirst: an abort in a canary step's hold goes straight to putting back what the
// cluster ran before the run: the first activity after the hold is the restore (before gates
// version 8, the store was read first, one more round trip before traffic moved back).
func TestAbortRestoresFirst(t *testing.T) {
	for _, before := range []*kube.Spec{unrecorded(), nil} {
		wd := newWorld()
		wd.knownGood, wd.deployed = knownGood(), before
		if err := abortedCanary(t, wd, 15*time.Minute); errType(err) != contract.ErrAborted {
			t.Fatalf("%v, want Aborted", err)
		}
		after := wd.sequence[slices.Index(wd.sequence, "abort")+1:]
		want := []string{"RestoreWorkload"}
		if before == nil { // nothing known from the cluster: the store's known-good row is read first
			want = []string{"CheckRollbackAvailability", "RestoreWorkload"}
		}
		if len(after) < len(want) || !slices.Equal(after[:len(want)], want) {
			t.Errorf("cluster ran %v before: activities after the abort %v, want %v first", before != nil, after, want)
		}
	}
}

func rootMessage(err error) string {
	for err != nil {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			break
		}
		err = u.Unwrap()
	}
	msg := err.Error()
	return msg
}

var _ = rules.Sample{}
