package rules

import (
	"math"
	"strings"
	"testing"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// TestRulesDefaultAnalysis pins the defaults the boundary cases below are written against.
func TestRulesDefaultAnalysis(t *testing.T) {
	want := AnalysisCriteria{MaxErrorRate: 0.01, MaxP99MS: 150, MaxErrorRateIncrease: 0.005, MaxP99Ratio: 1.5,
		MinRequests: 50, MaxExtensions: 3, MaxSourceErrors: 2, P99ToleranceMS: 25}
	if got := DefaultAnalysis(); got != want {
		t.Fatalf("DefaultAnalysis() = %+v, want %+v", got, want)
	}
}

// TestRulesJudgeCanary checks every bar of the canary analysis on both sides of its boundary.
// wantNums holds, per failure in order, the measured number its message must quote.
func TestRulesJudgeCanary(t *testing.T) {
	def := DefaultAnalysis()
	// A stable workload that served enough to apply the relative bars, and a canary that clears
	// every bar against it (increase 0.004 ≤ 0.005, p99 110 ≤ 1.5 × 100).
	stable := Sample{Requests: 1000, Errors: 1, ErrorRate: 0.001, P99MS: 100}
	canary := Sample{Requests: 1000, Errors: 5, ErrorRate: 0.005, P99MS: 110}
	with := func(s Sample, mut func(*Sample)) Sample { mut(&s); return s }
	crit := func(mut func(*AnalysisCriteria)) AnalysisCriteria { c := def; mut(&c); return c }

	cases := []struct {
		name      string
		canary    Sample
		stable    Sample
		c         AnalysisCriteria
		outcome   string
		wantNums  []string // one per failure, in order; len = number of failures
		wantNotes int
		noteHas   string // a substring of the first note, if any
	}{
		{"clears every bar", canary, stable, def, contract.VerdictPassed, nil, 0, ""},

		// Requests without a latency histogram: the error rate is judged, the p99 is not a pass.
		{"no latency data with a good error rate is inconclusive",
			with(canary, func(s *Sample) { s.NoLatency, s.P99MS = true, 0 }), stable,
			def, contract.VerdictInconclusive, nil, 1, "no latency data"},
		{"no latency data with every request failing fails on the error rate",
			with(canary, func(s *Sample) { s.NoLatency, s.P99MS, s.Errors, s.ErrorRate = true, 0, 1000, 1 }), stable,
			def, contract.VerdictFailed, []string{"1", "1"}, 1, "no latency data"},
		{"stable without latency data: the p99 ratio bar is not applied",
			with(canary, func(s *Sample) { s.P99MS = 140 }), with(stable, func(s *Sample) { s.NoLatency, s.P99MS = true, 0 }),
			def, contract.VerdictPassed, nil, 0, ""},

		// Absolute error-rate bar (exclusive). The stable rate is raised so the increase stays
		// within 0.005 and only the absolute bar is in play.
		{"error rate just below the bar passes",
			with(canary, func(s *Sample) { s.ErrorRate = 0.0099 }), with(stable, func(s *Sample) { s.ErrorRate = 0.009 }),
			def, contract.VerdictPassed, nil, 0, ""},
		{"error rate at the bar fails",
			with(canary, func(s *Sample) { s.ErrorRate = 0.01 }), with(stable, func(s *Sample) { s.ErrorRate = 0.009 }),
			def, contract.VerdictFailed, []string{"0.01"}, 0, ""},
		{"error rate just above the bar fails",
			with(canary, func(s *Sample) { s.ErrorRate = 0.0101 }), with(stable, func(s *Sample) { s.ErrorRate = 0.009 }),
			def, contract.VerdictFailed, []string{"0.0101"}, 0, ""},

		// Absolute p99 bar (exclusive). Stable p99 raised so the ratio bar (1.5×) stays clear.
		{"p99 just below the bar passes",
			with(canary, func(s *Sample) { s.P99MS = 149.9 }), with(stable, func(s *Sample) { s.P99MS = 140 }),
			def, contract.VerdictPassed, nil, 0, ""},
		{"p99 at the bar fails",
			with(canary, func(s *Sample) { s.P99MS = 150 }), with(stable, func(s *Sample) { s.P99MS = 140 }),
			def, contract.VerdictFailed, []string{"150"}, 0, ""},

		// Relative error-rate bar (inclusive: an increase of exactly MaxErrorRateIncrease passes).
		{"error-rate increase exactly at the bar passes (0.006 − 0.001)",
			with(canary, func(s *Sample) { s.ErrorRate = 0.006 }), stable,
			def, contract.VerdictPassed, nil, 0, ""},
		{"error-rate increase exactly at a binary-exact bar passes (0.5 − 0.25)",
			with(canary, func(s *Sample) { s.ErrorRate = 0.5 }), with(stable, func(s *Sample) { s.ErrorRate = 0.25 }),
			crit(func(c *AnalysisCriteria) { c.MaxErrorRate = 1; c.MaxErrorRateIncrease = 0.25 }),
			contract.VerdictPassed, nil, 0, ""},
		{"error-rate increase just above the bar fails",
			with(canary, func(s *Sample) { s.ErrorRate = 0.0061 }), stable,
			def, contract.VerdictFailed, []string{"0.0061"}, 0, ""},
		{"zero increase bar: equal rates pass",
			with(canary, func(s *Sample) { s.ErrorRate = 0.004 }), with(stable, func(s *Sample) { s.ErrorRate = 0.004 }),
			crit(func(c *AnalysisCriteria) { c.MaxErrorRateIncrease = 0 }), contract.VerdictPassed, nil, 0, ""},

		// Relative p99 bar (inclusive: exactly MaxP99Ratio × stable passes).
		{"p99 ratio exactly at the bar passes (120 = 1.5 × 80)",
			with(canary, func(s *Sample) { s.P99MS = 120 }), with(stable, func(s *Sample) { s.P99MS = 80 }),
			def, contract.VerdictPassed, nil, 0, ""},
		{"p99 ratio above the bar fails",
			with(canary, func(s *Sample) { s.P99MS = 120.1 }), with(stable, func(s *Sample) { s.P99MS = 80 }),
			def, contract.VerdictFailed, []string{"120.1"}, 0, ""},
		// ... and only when the canary is also P99ToleranceMS (25) above stable (exclusive). The first
		// case is TestGatesEndToEnd's healthy canary: a couple of requests past the 10 ms bucket bound.
		{"p99 1.5× stable but within the tolerance passes (15.25 against 9.868)",
			with(canary, func(s *Sample) { s.P99MS = 15.25 }), with(stable, func(s *Sample) { s.P99MS = 9.868 }),
			def, contract.VerdictPassed, nil, 0, ""},
		{"tolerance 0 (runs before gates version 5): the same fails",
			with(canary, func(s *Sample) { s.P99MS = 15.25 }), with(stable, func(s *Sample) { s.P99MS = 9.868 }),
			crit(func(c *AnalysisCriteria) { c.P99ToleranceMS = 0 }), contract.VerdictFailed, []string{"15.25"}, 0, ""},
		{"2.25× stable, exactly 25 ms above it, passes",
			with(canary, func(s *Sample) { s.P99MS = 45 }), with(stable, func(s *Sample) { s.P99MS = 20 }),
			def, contract.VerdictPassed, nil, 0, ""},
		{"2.255× stable, 25.1 ms above it, fails",
			with(canary, func(s *Sample) { s.P99MS = 45.1 }), with(stable, func(s *Sample) { s.P99MS = 20 }),
			def, contract.VerdictFailed, []string{"45.1"}, 0, ""},

		// Stable too small (or without data): the relative bars are not applied, and a note says so.
		// The canary here would break both relative bars (increase 0.009, p99 140 > 1.5 × 10).
		{"stable below MinRequests: relative bars not applied",
			with(canary, func(s *Sample) { s.ErrorRate = 0.009; s.P99MS = 140 }),
			Sample{Requests: 49, ErrorRate: 0, P99MS: 10},
			def, contract.VerdictPassed, nil, 1, "stable served 49 requests, fewer than 50: relative bars not applied"},
		{"stable NoData: relative bars not applied",
			with(canary, func(s *Sample) { s.ErrorRate = 0.009; s.P99MS = 140 }),
			Sample{NoData: true},
			def, contract.VerdictPassed, nil, 1, "relative bars not applied"},
		{"stable at MinRequests: relative bars applied",
			with(canary, func(s *Sample) { s.ErrorRate = 0.009; s.P99MS = 140 }),
			Sample{Requests: 50, ErrorRate: 0, P99MS: 10},
			def, contract.VerdictFailed, []string{"0.009", "140"}, 0, ""},
		{"stable too small, absolute bar still fails with the note",
			with(canary, func(s *Sample) { s.ErrorRate = 0.02 }), Sample{Requests: 10},
			def, contract.VerdictFailed, []string{"0.02"}, 1, "relative bars not applied"},

		// Canary without enough evidence.
		{"canary NoData is inconclusive", Sample{NoData: true}, stable,
			def, contract.VerdictInconclusive, nil, 1, "canary served 0 requests, fewer than 50"},
		{"canary NoData with numbers that look fine is still inconclusive",
			with(canary, func(s *Sample) { s.NoData = true; s.Errors = 0 }), stable,
			def, contract.VerdictInconclusive, nil, 1, "fewer than 50"},
		{"canary below MinRequests is inconclusive",
			Sample{Requests: 49, ErrorRate: 0, P99MS: 10}, stable,
			def, contract.VerdictInconclusive, nil, 1, "canary served 49 requests, fewer than 50"},
		{"canary at MinRequests is judged",
			Sample{Requests: 50, ErrorRate: 0, P99MS: 10}, stable,
			def, contract.VerdictPassed, nil, 0, ""},
		{"canary below MinRequests, 0 errors: not yet, inconclusive",
			Sample{Requests: 10, Errors: 0, ErrorRate: 0, P99MS: 10}, stable,
			def, contract.VerdictInconclusive, nil, 1, "canary served 10 requests"},
		{"canary below MinRequests, 1 error in 10: 1/50 = 0.02 ≥ 0.01, failed",
			Sample{Requests: 10, Errors: 1, ErrorRate: 0.1, P99MS: 10}, stable,
			def, contract.VerdictFailed, []string{"1"}, 0, ""},
		{"canary below MinRequests, errors exactly at the bar over MinRequests: failed",
			Sample{Requests: 10, Errors: 1, ErrorRate: 0.1, P99MS: 10}, stable,
			crit(func(c *AnalysisCriteria) { c.MinRequests = 100 }), contract.VerdictFailed, []string{"1"}, 0, ""},
		{"canary below MinRequests, errors just under the bar over MinRequests: inconclusive",
			Sample{Requests: 10, Errors: 1, ErrorRate: 0.1, P99MS: 10}, stable,
			crit(func(c *AnalysisCriteria) { c.MinRequests = 101 }), contract.VerdictInconclusive, nil, 1, "fewer than 101"},
		{"canary below MinRequests, p99 over the bar: inconclusive (not judged yet)",
			Sample{Requests: 10, Errors: 0, P99MS: 999}, stable,
			def, contract.VerdictInconclusive, nil, 1, "fewer than 50"},

		// Everything at once.
		{"several failures reported together",
			Sample{Requests: 1000, Errors: 20, ErrorRate: 0.02, P99MS: 200}, stable,
			def, contract.VerdictFailed, []string{"0.02", "200", "0.02", "200"}, 0, ""},
		{"both absolute failures together, stable too small",
			Sample{Requests: 1000, Errors: 30, ErrorRate: 0.03, P99MS: 151}, Sample{Requests: 3},
			def, contract.VerdictFailed, []string{"0.03", "151"}, 1, "stable served 3 requests"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := JudgeCanary(tc.canary, tc.stable, tc.c)
			if v.Outcome != tc.outcome {
				t.Fatalf("Outcome = %q, want %q (verdict %+v)", v.Outcome, tc.outcome, v)
			}
			if len(v.Failures) != len(tc.wantNums) {
				t.Fatalf("%d failures %q, want %d", len(v.Failures), v.Failures, len(tc.wantNums))
			}
			for i, f := range v.Failures {
				if !strings.Contains(f, tc.wantNums[i]) {
					t.Errorf("failure %d %q does not quote the measured %s", i, f, tc.wantNums[i])
				}
			}
			if len(v.Notes) != tc.wantNotes {
				t.Fatalf("%d notes %q, want %d", len(v.Notes), v.Notes, tc.wantNotes)
			}
			if tc.noteHas != "" && !strings.Contains(v.Notes[0], tc.noteHas) {
				t.Errorf("note %q does not contain %q", v.Notes[0], tc.noteHas)
			}
		})
	}
}

// TestRulesCheckAnalysis: the defaults pass; every field out of range is named.
func TestRulesCheckAnalysis(t *testing.T) {
	if field, msg := CheckAnalysis(DefaultAnalysis()); field != "" || msg != "" {
		t.Fatalf("CheckAnalysis(DefaultAnalysis()) = %q, %q; want it to pass", field, msg)
	}
	nan, inf := math.NaN(), math.Inf(1)
	type mut = func(*AnalysisCriteria)
	cases := []struct {
		name  string
		mut   mut
		field string // "" = passes
	}{
		{"max_error_rate 0", func(c *AnalysisCriteria) { c.MaxErrorRate = 0 }, "max_error_rate"},
		{"max_error_rate negative", func(c *AnalysisCriteria) { c.MaxErrorRate = -0.01 }, "max_error_rate"},
		{"max_error_rate NaN", func(c *AnalysisCriteria) { c.MaxErrorRate = nan }, "max_error_rate"},
		{"max_error_rate too large", func(c *AnalysisCriteria) { c.MaxErrorRate = 1.0001 }, "max_error_rate"},
		{"max_error_rate 1 passes", func(c *AnalysisCriteria) { c.MaxErrorRate = 1 }, ""},

		{"max_p99_ms 0", func(c *AnalysisCriteria) { c.MaxP99MS = 0 }, "max_p99_ms"},
		{"max_p99_ms negative", func(c *AnalysisCriteria) { c.MaxP99MS = -150 }, "max_p99_ms"},
		{"max_p99_ms NaN", func(c *AnalysisCriteria) { c.MaxP99MS = nan }, "max_p99_ms"},
		{"max_p99_ms too large", func(c *AnalysisCriteria) { c.MaxP99MS = 600001 }, "max_p99_ms"},
		{"max_p99_ms +Inf", func(c *AnalysisCriteria) { c.MaxP99MS = inf }, "max_p99_ms"},
		{"max_p99_ms 600000 passes", func(c *AnalysisCriteria) { c.MaxP99MS = 600000 }, ""},

		{"max_error_rate_increase 0 passes", func(c *AnalysisCriteria) { c.MaxErrorRateIncrease = 0 }, ""},
		{"max_error_rate_increase negative", func(c *AnalysisCriteria) { c.MaxErrorRateIncrease = -0.001 }, "max_error_rate_increase"},
		{"max_error_rate_increase NaN", func(c *AnalysisCriteria) { c.MaxErrorRateIncrease = nan }, "max_error_rate_increase"},
		{"max_error_rate_increase too large", func(c *AnalysisCriteria) { c.MaxErrorRateIncrease = 1.5 }, "max_error_rate_increase"},
		{"max_error_rate_increase 1 passes", func(c *AnalysisCriteria) { c.MaxErrorRateIncrease = 1 }, ""},

		{"max_p99_ratio 0", func(c *AnalysisCriteria) { c.MaxP99Ratio = 0 }, "max_p99_ratio"},
		{"max_p99_ratio negative", func(c *AnalysisCriteria) { c.MaxP99Ratio = -1.5 }, "max_p99_ratio"},
		{"max_p99_ratio below 1", func(c *AnalysisCriteria) { c.MaxP99Ratio = 0.99 }, "max_p99_ratio"},
		{"max_p99_ratio NaN", func(c *AnalysisCriteria) { c.MaxP99Ratio = nan }, "max_p99_ratio"},
		{"max_p99_ratio too large", func(c *AnalysisCriteria) { c.MaxP99Ratio = 100.01 }, "max_p99_ratio"},
		{"max_p99_ratio 1 passes", func(c *AnalysisCriteria) { c.MaxP99Ratio = 1 }, ""},
		{"max_p99_ratio 100 passes", func(c *AnalysisCriteria) { c.MaxP99Ratio = 100 }, ""},

		{"p99_tolerance_ms negative", func(c *AnalysisCriteria) { c.P99ToleranceMS = -1 }, "p99_tolerance_ms"},
		{"p99_tolerance_ms NaN", func(c *AnalysisCriteria) { c.P99ToleranceMS = nan }, "p99_tolerance_ms"},
		{"p99_tolerance_ms too large", func(c *AnalysisCriteria) { c.P99ToleranceMS = 600001 }, "p99_tolerance_ms"},
		{"p99_tolerance_ms 0 passes", func(c *AnalysisCriteria) { c.P99ToleranceMS = 0 }, ""},

		{"min_requests 0", func(c *AnalysisCriteria) { c.MinRequests = 0 }, "min_requests"},
		{"min_requests negative", func(c *AnalysisCriteria) { c.MinRequests = -50 }, "min_requests"},
		{"min_requests NaN", func(c *AnalysisCriteria) { c.MinRequests = nan }, "min_requests"},
		{"min_requests too large", func(c *AnalysisCriteria) { c.MinRequests = 1e7 + 1 }, "min_requests"},
		{"min_requests 1 passes", func(c *AnalysisCriteria) { c.MinRequests = 1 }, ""},
		{"min_requests 1e7 passes", func(c *AnalysisCriteria) { c.MinRequests = 1e7 }, ""},

		{"max_extensions 0 passes", func(c *AnalysisCriteria) { c.MaxExtensions = 0 }, ""},
		{"max_extensions negative", func(c *AnalysisCriteria) { c.MaxExtensions = -1 }, "max_extensions"},
		{"max_extensions too large", func(c *AnalysisCriteria) { c.MaxExtensions = 101 }, "max_extensions"},
		{"max_extensions 100 passes", func(c *AnalysisCriteria) { c.MaxExtensions = 100 }, ""},

		{"max_source_errors 0 passes", func(c *AnalysisCriteria) { c.MaxSourceErrors = 0 }, ""},
		{"max_source_errors negative", func(c *AnalysisCriteria) { c.MaxSourceErrors = -1 }, "max_source_errors"},
		{"max_source_errors too large", func(c *AnalysisCriteria) { c.MaxSourceErrors = 101 }, "max_source_errors"},
		{"max_source_errors 100 passes", func(c *AnalysisCriteria) { c.MaxSourceErrors = 100 }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultAnalysis()
			tc.mut(&c)
			field, msg := CheckAnalysis(c)
			if field != tc.field {
				t.Fatalf("CheckAnalysis(%+v) names %q (%s), want %q", c, field, msg, tc.field)
			}
			if (msg == "") != (tc.field == "") {
				t.Fatalf("CheckAnalysis(%+v) message %q with field %q", c, msg, field)
			}
		})
	}
}

// TestRulesCheckCanaryPolicy: at least minSteps steps, the first at most maxFirst percent.
func TestRulesCheckCanaryPolicy(t *testing.T) {
	cases := []struct {
		name               string
		steps              []int
		minSteps, maxFirst int
		errHas             string // "" = passes
	}{
		{"5,20,50,100 with min 3, first ≤ 25", []int{5, 20, 50, 100}, 3, 25, ""},
		{"straight cut-over fails on steps", []int{100}, 3, 25, "the policy needs at least 3"},
		{"no steps fail on steps", nil, 3, 25, "0 step(s)"},
		{"one step short fails on steps", []int{10, 100}, 3, 25, "2 step(s)"},
		{"50,100 with min 2 fails on the first step", []int{50, 100}, 2, 25, "first step is 50%; the policy allows at most 25%"},
		{"first step just above maxFirst fails", []int{26, 50, 100}, 3, 25, "first step is 26%"},
		{"exactly minSteps passes", []int{10, 50, 100}, 3, 25, ""},
		{"exactly maxFirst passes", []int{25, 50, 100}, 3, 25, ""},
		{"exactly minSteps and maxFirst passes", []int{25, 100}, 2, 25, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckCanaryPolicy(tc.steps, tc.minSteps, tc.maxFirst)
			if tc.errHas == "" {
				if err != nil {
					t.Fatalf("CheckCanaryPolicy(%v, %d, %d) = %v, want nil", tc.steps, tc.minSteps, tc.maxFirst, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("CheckCanaryPolicy(%v, %d, %d) = %v, want an error containing %q",
					tc.steps, tc.minSteps, tc.maxFirst, err, tc.errHas)
			}
		})
	}
}

// TestRulesCanaryEarlyFailure: the absolute bars on a partial window, with enough requests to
// judge; whenever it fails, JudgeCanary fails the same sample.
func TestRulesCanaryEarlyFailure(t *testing.T) {
	c := DefaultAnalysis() // 1 %, 150 ms, 50 requests
	stable := Sample{Requests: 1000, ErrorRate: 0, P99MS: 20}
	cases := []struct {
		name  string
		s     Sample
		fails int
	}{
		{"no data", Sample{NoData: true, Requests: 100, Errors: 100}, 0},
		{"no requests yet", Sample{}, 0},
		{"0 errors in 10, p99 over the bar: too few to judge the p99", Sample{Requests: 10, P99MS: 900}, 0},
		{"1 error in 10: 1/50 = 0.02 already breaks 1 %", Sample{Requests: 10, Errors: 1, ErrorRate: 0.1, P99MS: 10}, 1},
		{"0 errors in 60, p99 over the bar: one slow request, not judged before 200", Sample{Requests: 60, P99MS: 175}, 0},
		{"0 errors in 105, p99 151.5: one cold request, not judged before 200", Sample{Requests: 105, P99MS: 151.5}, 0},
		{"0 errors in 200, p99 149.9: passes", Sample{Requests: 200, P99MS: 149.9}, 0},
		{"0 errors in 200, p99 at 150: fails (exclusive)", Sample{Requests: 200, P99MS: 150}, 1},
		{"no latency data, every request failing: fails on errors", Sample{Requests: 60, Errors: 60, ErrorRate: 1, NoLatency: true}, 1},
		{"no latency data, no errors: no failure", Sample{Requests: 60, NoLatency: true}, 0},
		{"both bars broken", Sample{Requests: 200, Errors: 10, ErrorRate: 0.05, P99MS: 400}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := CanaryEarlyFailure(tc.s, c)
			if len(got) != tc.fails {
				t.Fatalf("CanaryEarlyFailure(%+v) = %q, want %d failure(s)", tc.s, got, tc.fails)
			}
			if len(got) > 0 {
				if v := JudgeCanary(tc.s, stable, c); v.Outcome != contract.VerdictFailed {
					t.Fatalf("early failure %q but JudgeCanary says %s", got, v.Outcome)
				}
			}
		})
	}
}

// TestRulesJudgeCanaryP99: from gates version 3 a p99 is judged at the end of a hold only over a
// floor of canary requests: 100 at version 3, P99MinRequests (200) from version 4. The first cases
// are TestGatesEndToEnd's healthy canary on the real control plane: one cold request among 85 made
// its p99 212.5 ms, and among 105 (CI, version 3) 151.5 ms.
func TestRulesJudgeCanaryP99(t *testing.T) {
	def := DefaultAnalysis()
	stable := Sample{Requests: 271, P99MS: 24.07}
	cases := []struct {
		name        string
		canary      Sample
		floor       float64
		plain, p99  string // JudgeCanary's outcome, JudgeCanaryP99's
		p99Failures int
	}{
		{"v3: one cold request among 85", Sample{Requests: 85, P99MS: 212.5}, P99MinRequestsGatesV3, contract.VerdictFailed, contract.VerdictInconclusive, 0},
		{"v3: 99 requests, still too few", Sample{Requests: 99, P99MS: 212.5}, P99MinRequestsGatesV3, contract.VerdictFailed, contract.VerdictInconclusive, 0},
		{"v3: 100 requests judge the p99", Sample{Requests: 100, P99MS: 212.5}, P99MinRequestsGatesV3, contract.VerdictFailed, contract.VerdictFailed, 2},
		{"v3: one cold request among 105 failed a healthy canary", Sample{Requests: 105, P99MS: 151.5}, P99MinRequestsGatesV3,
			contract.VerdictFailed, contract.VerdictFailed, 2},
		{"v4: one cold request among 105 is not yet a p99", Sample{Requests: 105, P99MS: 151.5}, P99MinRequests,
			contract.VerdictFailed, contract.VerdictInconclusive, 0},
		{"v4: 199 requests, still too few", Sample{Requests: 199, P99MS: 400}, P99MinRequests, contract.VerdictFailed, contract.VerdictInconclusive, 0},
		{"v4: 200 requests judge the p99", Sample{Requests: 200, P99MS: 400}, P99MinRequests, contract.VerdictFailed, contract.VerdictFailed, 2},
		{"v4: 200 good requests pass", Sample{Requests: 200, P99MS: 20}, P99MinRequests, contract.VerdictPassed, contract.VerdictPassed, 0},
		{"85 good requests: not yet a pass", Sample{Requests: 85, P99MS: 20}, P99MinRequestsGatesV3, contract.VerdictPassed, contract.VerdictInconclusive, 0},
		{"errors still fail under the floor", Sample{Requests: 85, Errors: 5, ErrorRate: 5.0 / 85, P99MS: 20}, P99MinRequests,
			contract.VerdictFailed, contract.VerdictFailed, 2},
		{"no latency data stays inconclusive", Sample{Requests: 85, NoLatency: true}, P99MinRequests, contract.VerdictInconclusive, contract.VerdictInconclusive, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if v := JudgeCanary(tc.canary, stable, def); v.Outcome != tc.plain {
				t.Fatalf("JudgeCanary = %+v, want %s", v, tc.plain)
			}
			v := JudgeCanaryP99(tc.canary, stable, def, tc.floor)
			if v.Outcome != tc.p99 || len(v.Failures) != tc.p99Failures {
				t.Fatalf("JudgeCanaryP99 = %+v, want %s with %d failure(s)", v, tc.p99, tc.p99Failures)
			}
		})
	}
}
