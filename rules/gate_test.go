package rules

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
)

func f64(v float64) *float64 { return &v }

func TestRulesSuccessGate(t *testing.T) {
	type ths = map[string]contract.Threshold
	type mets = map[string]float64
	cases := []struct {
		name    string
		met     bool
		metrics mets
		ths     ths
		want    []string // exact failures, in order; nil = passes
	}{
		{"met, metrics, no thresholds", true, mets{"auc": 0.9}, nil, nil},
		{"met, metrics, empty thresholds", true, mets{"auc": 0.9}, ths{}, nil},
		{"value equal to min passes", true, mets{"auc": 0.9}, ths{"auc": {Min: f64(0.9)}}, nil},
		{"value equal to max passes", true, mets{"loss": 0.2}, ths{"loss": {Max: f64(0.2)}}, nil},
		{"min == max == value passes", true, mets{"auc": 0.9}, ths{"auc": {Min: f64(0.9), Max: f64(0.9)}}, nil},
		{"inside min..max passes", true, mets{"auc": 0.9}, ths{"auc": {Min: f64(0.8), Max: f64(0.95)}}, nil},
		{"negative bounds", true, mets{"delta": -0.5}, ths{"delta": {Min: f64(-1), Max: f64(0)}}, nil},
		{"zero min, zero value", true, mets{"x": 0}, ths{"x": {Min: f64(0)}}, nil},
		{"extra metrics without thresholds ignored", true, mets{"auc": 0.9, "f1": 0.1}, ths{"auc": {Min: f64(0.5)}}, nil},
		{"just below min", true, mets{"auc": 0.8999}, ths{"auc": {Min: f64(0.9)}},
			[]string{"validation_metrics.auc = 0.8999 is below min 0.9"}},
		{"just above max", true, mets{"loss": 0.2001}, ths{"loss": {Max: f64(0.2)}},
			[]string{"validation_metrics.loss = 0.2001 is above max 0.2"}},
		{"below min of a range", true, mets{"auc": 0.7}, ths{"auc": {Min: f64(0.8), Max: f64(0.95)}},
			[]string{"validation_metrics.auc = 0.7 is below min 0.8"}},
		{"above max of a range", true, mets{"auc": 0.99}, ths{"auc": {Min: f64(0.8), Max: f64(0.95)}},
			[]string{"validation_metrics.auc = 0.99 is above max 0.95"}},
		{"missing metric", true, mets{"auc": 0.9}, ths{"f1": {Min: f64(0.5)}},
			[]string{"validation_metrics.f1 is missing (threshold set)"}},
		{"NaN metric under a threshold", true, mets{"auc": math.NaN()}, ths{"auc": {Min: f64(0.5)}},
			[]string{"validation_metrics.auc is NaN"}},
		{"NaN metric under a max", true, mets{"loss": math.NaN()}, ths{"loss": {Max: f64(0.5)}},
			[]string{"validation_metrics.loss is NaN"}},
		{"+Inf above max", true, mets{"loss": math.Inf(1)}, ths{"loss": {Max: f64(1)}},
			[]string{"validation_metrics.loss = +Inf is above max 1"}},
		{"-Inf below min", true, mets{"auc": math.Inf(-1)}, ths{"auc": {Min: f64(0)}},
			[]string{"validation_metrics.auc = -Inf is below min 0"}},
		{"criteria false", false, mets{"auc": 0.9}, nil,
			[]string{"success_criteria_met is false"}},
		{"criteria false with passing thresholds", false, mets{"auc": 0.9}, ths{"auc": {Min: f64(0.5)}},
			[]string{"success_criteria_met is false"}},
		{"empty metrics", true, mets{}, nil,
			[]string{"validation_metrics is empty: no evidence"}},
		{"nil metrics", true, nil, nil,
			[]string{"validation_metrics is empty: no evidence"}},
		{"empty metrics with a threshold", true, mets{}, ths{"auc": {Min: f64(0.5)}},
			[]string{"validation_metrics is empty: no evidence", "validation_metrics.auc is missing (threshold set)"}},
		{"multiple failures sorted by metric name", false, mets{"zeta": 5, "alpha": 0.1, "mid": math.NaN()},
			ths{"zeta": {Max: f64(1)}, "mid": {Min: f64(0)}, "beta": {Min: f64(1)}, "alpha": {Min: f64(0.5)}},
			[]string{
				"success_criteria_met is false",
				"validation_metrics.alpha = 0.1 is below min 0.5",
				"validation_metrics.beta is missing (threshold set)",
				"validation_metrics.mid is NaN",
				"validation_metrics.zeta = 5 is above max 1",
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Map order is random; repeat so an unsorted listing would show.
			for i := 0; i < 20; i++ {
				v := SuccessGate(tc.met, tc.metrics, tc.ths)
				if v.Passed != (tc.want == nil) {
					t.Fatalf("Passed = %v with failures %q, want failures %q", v.Passed, v.Failures, tc.want)
				}
				if !reflect.DeepEqual(v.Failures, tc.want) {
					t.Fatalf("failures\n got %q\nwant %q", v.Failures, tc.want)
				}
			}
		})
	}
}

// TestRulesShadowCriteria checks each of seed 000's bars on both sides of its boundary with the
// default policy: ≥ 24h, ≥ 1000 requests, error rate < 1 %, p99 < 150 ms.
func TestRulesShadowCriteria(t *testing.T) {
	bars := config.DefaultPolicy().Shadow
	want := config.ShadowCriteria{MinDuration: 24 * time.Hour, MinRequests: 1000, MaxErrorRate: 0.01, MaxP99MS: 150}
	if bars != want {
		t.Fatalf("DefaultPolicy().Shadow = %+v, want %+v", bars, want)
	}
	good := ShadowEvidence{DurationHours: 24, Requests: 1000, ErrorRate: 0.009, LatencyP99MS: 149, Source: "caller-supplied"}
	cases := []struct {
		name string
		mut  func(*ShadowEvidence)
		want []string
	}{
		{"all at the passing side of every bar", func(*ShadowEvidence) {}, nil},
		{"well clear", func(e *ShadowEvidence) {
			*e = ShadowEvidence{DurationHours: 72, Requests: 1e6, ErrorRate: 0, LatencyP99MS: 12}
		}, nil},
		{"duration 23.99h fails", func(e *ShadowEvidence) { e.DurationHours = 23.99 },
			[]string{"shadow duration 23.99h is below 24h"}},
		{"duration 24h passes", func(e *ShadowEvidence) { e.DurationHours = 24 }, nil},
		{"requests 999 fail", func(e *ShadowEvidence) { e.Requests = 999 },
			[]string{"shadow requests 999 are below 1000"}},
		{"requests 1000 pass", func(e *ShadowEvidence) { e.Requests = 1000 }, nil},
		{"error rate 0.0099 passes", func(e *ShadowEvidence) { e.ErrorRate = 0.0099 }, nil},
		{"error rate 0.01 fails (strictly below)", func(e *ShadowEvidence) { e.ErrorRate = 0.01 },
			[]string{"shadow error rate 0.01 is not below 0.01"}},
		{"p99 149.9 passes", func(e *ShadowEvidence) { e.LatencyP99MS = 149.9 }, nil},
		{"p99 150 fails (strictly below)", func(e *ShadowEvidence) { e.LatencyP99MS = 150 },
			[]string{"shadow p99 latency 150ms is not below 150ms"}},
		{"all four fail", func(e *ShadowEvidence) {
			*e = ShadowEvidence{DurationHours: 1, Requests: 10, ErrorRate: 0.5, LatencyP99MS: 400}
		}, []string{
			"shadow duration 1h is below 24h",
			"shadow requests 10 are below 1000",
			"shadow error rate 0.5 is not below 0.01",
			"shadow p99 latency 400ms is not below 150ms",
		}},
		{"seed defaults 0h, 0, 1.0, 999 fail", func(e *ShadowEvidence) {
			*e = ShadowEvidence{DurationHours: 0, Requests: 0, ErrorRate: 1.0, LatencyP99MS: 999, Source: "caller-supplied"}
		}, []string{
			"shadow duration 0h is below 24h",
			"shadow requests 0 are below 1000",
			"shadow error rate 1 is not below 0.01",
			"shadow p99 latency 999ms is not below 150ms",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := good
			tc.mut(&e)
			v := ShadowCriteria(e, bars)
			if v.Passed != (tc.want == nil) || !reflect.DeepEqual(v.Failures, tc.want) {
				t.Fatalf("ShadowCriteria(%+v) = %+v, want failures %q", e, v, tc.want)
			}
		})
	}
}

// TestRulesShadowCriteriaFollowsPolicy: the bars come from the policy, not constants.
func TestRulesShadowCriteriaFollowsPolicy(t *testing.T) {
	bars := config.ShadowCriteria{MinDuration: time.Hour, MinRequests: 10, MaxErrorRate: 0.5, MaxP99MS: 1000}
	e := ShadowEvidence{DurationHours: 1, Requests: 10, ErrorRate: 0.49, LatencyP99MS: 999}
	if v := ShadowCriteria(e, bars); !v.Passed {
		t.Fatalf("lowered bars: %+v", v)
	}
	if v := ShadowCriteria(e, config.DefaultPolicy().Shadow); v.Passed || len(v.Failures) != 4 {
		t.Fatalf("default bars: %+v", v)
	}
}

// TestRulesShadowCriteriaNaN: a NaN on either side of a bar is no evidence and must not clear it.
// Every comparison with NaN is false, so ShadowCriteria currently fails open.
func TestRulesShadowCriteriaNaN(t *testing.T) {
	nan := math.NaN()
	bars := config.DefaultPolicy().Shadow
	good := ShadowEvidence{DurationHours: 24, Requests: 1000, ErrorRate: 0.5, LatencyP99MS: 500}
	cases := []struct {
		name string
		e    ShadowEvidence
		c    config.ShadowCriteria
		bug  string
	}{
		{"NaN duration", ShadowEvidence{DurationHours: nan, Requests: 1000}, bars,
			"NaN evidence passes (Normalize rejects NaN from callers today; measured evidence, e.g. a " +
				"Prometheus histogram_quantile over no samples, would not be)"},
		{"NaN error rate", ShadowEvidence{DurationHours: 24, Requests: 1000, ErrorRate: nan}, bars, "NaN evidence passes"},
		{"NaN p99", ShadowEvidence{DurationHours: 24, Requests: 1000, LatencyP99MS: nan}, bars, "NaN evidence passes"},
		{"NaN max error rate (DEPLOYER_SHADOW_MAX_ERROR_RATE=NaN loads)", good,
			config.ShadowCriteria{MinDuration: bars.MinDuration, MinRequests: bars.MinRequests, MaxErrorRate: nan, MaxP99MS: 1000},
			"a NaN error-rate bar passes an error rate of 0.5"},
		{"NaN max p99 (DEPLOYER_SHADOW_MAX_P99_MS=NaN loads)", good,
			config.ShadowCriteria{MinDuration: bars.MinDuration, MinRequests: bars.MinRequests, MaxErrorRate: 1, MaxP99MS: nan},
			"a NaN p99 bar passes a p99 of 500ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if v := ShadowCriteria(tc.e, tc.c); v.Passed {
				t.Errorf("NaN evidence passed the shadow bar: %s", tc.bug)
			}
		})
	}
}
