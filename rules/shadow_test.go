package rules

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/config"
	"github.com/temporaldeployer/temporaldeployer/contract"
)

var shadowEnd = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// TestRulesMeasuredShadow: the evidence is what the hold really measured over [from, End].
func TestRulesMeasuredShadow(t *testing.T) {
	w := Workload{DeploymentName: "fraud", Environment: "shadow", Role: "shadow"}
	cases := []struct {
		name      string
		s         Sample
		from      time.Time
		samples   int
		wantHours float64
		wantReqs  int64
	}{
		{"36h held, requests rounded down",
			Sample{Workload: w, End: shadowEnd, Requests: 1234.4, Errors: 3, ErrorRate: 0.0024, P99MS: 88.5},
			shadowEnd.Add(-36 * time.Hour), 37, 36, 1234},
		{"half an hour held, requests rounded half away from zero",
			Sample{Workload: w, End: shadowEnd, Requests: 1234.5, ErrorRate: 0, P99MS: 12},
			shadowEnd.Add(-30 * time.Minute), 2, 0.5, 1235},
		{"exactly 24h",
			Sample{Workload: w, End: shadowEnd, Requests: 1000, ErrorRate: 0.001, P99MS: 100},
			shadowEnd.Add(-24 * time.Hour), 25, 24, 1000},
		{"NoData carried",
			Sample{Workload: w, End: shadowEnd, NoData: true},
			shadowEnd.Add(-24 * time.Hour), 0, 24, 0},
		{"zero duration", Sample{Workload: w, End: shadowEnd, Requests: 0.4}, shadowEnd, 1, 0, 0},
		{"negative duration clamps to 0",
			Sample{Workload: w, End: shadowEnd, Requests: 10, ErrorRate: 0.1, P99MS: 5},
			shadowEnd.Add(2 * time.Hour), 1, 0, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := MeasuredShadow(tc.s, tc.from, tc.samples)
			if e.DurationHours != tc.wantHours {
				t.Errorf("DurationHours = %v, want %v", e.DurationHours, tc.wantHours)
			}
			if e.Requests != tc.wantReqs {
				t.Errorf("Requests = %d, want %d", e.Requests, tc.wantReqs)
			}
			if e.ErrorRate != tc.s.ErrorRate || e.LatencyP99MS != tc.s.P99MS {
				t.Errorf("ErrorRate, LatencyP99MS = %v, %v, want %v, %v", e.ErrorRate, e.LatencyP99MS, tc.s.ErrorRate, tc.s.P99MS)
			}
			if e.Source != contract.SourceMeasured {
				t.Errorf("Source = %q, want %q", e.Source, contract.SourceMeasured)
			}
			if e.NoData != tc.s.NoData {
				t.Errorf("NoData = %v, want %v", e.NoData, tc.s.NoData)
			}
			if e.Samples != tc.samples {
				t.Errorf("Samples = %d, want %d", e.Samples, tc.samples)
			}
			if e.HeldFrom == nil || !e.HeldFrom.Equal(tc.from) {
				t.Errorf("HeldFrom = %v, want %v", e.HeldFrom, tc.from)
			}
			if e.HeldTo == nil || !e.HeldTo.Equal(tc.s.End) {
				t.Errorf("HeldTo = %v, want %v", e.HeldTo, tc.s.End)
			}
		})
	}
}

// TestRulesShadowCriteriaMeasured checks seed 000's bars on measured evidence (built through
// MeasuredShadow) on both sides of each boundary, with the default policy.
func TestRulesShadowCriteriaMeasured(t *testing.T) {
	bars := config.DefaultPolicy().Shadow
	good := Sample{End: shadowEnd, Requests: 1000, Errors: 9, ErrorRate: 0.009, P99MS: 149}
	day := 24 * time.Hour
	cases := []struct {
		name string
		s    Sample
		held time.Duration
		c    config.ShadowCriteria
		want []string // exact failures, in order; nil = passes
	}{
		{"all at the passing side of every bar", good, day, bars, nil},
		{"23.99h held fails", good, 23*time.Hour + 59*time.Minute + 24*time.Second, bars,
			[]string{"shadow duration 23.99h is below 24h"}},
		{"24h held passes", good, day, bars, nil},
		{"requests without latency data fail", func() Sample { s := good; s.NoLatency, s.P99MS = true, 0; return s }(), day, bars,
			[]string{"the metrics source had no latency data for the shadow workload"}},
		{"999 requests fail", func() Sample { s := good; s.Requests = 999; return s }(), day, bars,
			[]string{"shadow requests 999 are below 1000"}},
		{"999.4 requests round to 999 and fail", func() Sample { s := good; s.Requests = 999.4; return s }(), day, bars,
			[]string{"shadow requests 999 are below 1000"}},
		{"1000 requests pass", func() Sample { s := good; s.Requests = 1000; return s }(), day, bars, nil},
		{"error rate 0.0099 passes", func() Sample { s := good; s.ErrorRate = 0.0099; return s }(), day, bars, nil},
		{"error rate 0.01 fails", func() Sample { s := good; s.ErrorRate = 0.01; return s }(), day, bars,
			[]string{"shadow error rate 0.01 is not below 0.01"}},
		{"p99 149.9 passes", func() Sample { s := good; s.P99MS = 149.9; return s }(), day, bars, nil},
		{"p99 150 fails", func() Sample { s := good; s.P99MS = 150; return s }(), day, bars,
			[]string{"shadow p99 latency 150ms is not below 150ms"}},
		{"NoData fails even when the numbers look fine",
			Sample{End: shadowEnd, Requests: 5000, ErrorRate: 0, P99MS: 10, NoData: true}, 48 * time.Hour, bars,
			[]string{"the metrics source had no data for the shadow workload"}},
		{"NoData with zero numbers fails on data and requests",
			Sample{End: shadowEnd, NoData: true}, day, bars,
			[]string{"the metrics source had no data for the shadow workload", "shadow requests 0 are below 1000"}},
		{"hold ended before it began: 0h fails", good, -time.Hour, bars,
			[]string{"shadow duration 0h is below 24h"}},
		{"MinRequests 0 still fails 0 requests",
			Sample{End: shadowEnd, Requests: 0, ErrorRate: 0, P99MS: 10}, day,
			config.ShadowCriteria{MinDuration: day, MinRequests: 0, MaxErrorRate: 0.01, MaxP99MS: 150},
			[]string{"shadow requests 0 are below 1"}},
		{"MinRequests 0 passes 1 request",
			Sample{End: shadowEnd, Requests: 1, ErrorRate: 0, P99MS: 10}, day,
			config.ShadowCriteria{MinDuration: day, MinRequests: 0, MaxErrorRate: 0.01, MaxP99MS: 150},
			nil},
		{"0.4 requests round to 0 and fail with MinRequests 0",
			Sample{End: shadowEnd, Requests: 0.4, ErrorRate: 0, P99MS: 10}, day,
			config.ShadowCriteria{MinDuration: day, MinRequests: 0, MaxErrorRate: 0.01, MaxP99MS: 150},
			[]string{"shadow requests 0 are below 1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := MeasuredShadow(tc.s, tc.s.End.Add(-tc.held), 1)
			v := ShadowCriteria(e, tc.c)
			if v.Passed != (tc.want == nil) || !reflect.DeepEqual(v.Failures, tc.want) {
				t.Fatalf("ShadowCriteria(%+v) = %+v, want failures %q", e, v, tc.want)
			}
		})
	}
}

// TestRulesShadowEarlyFailure: a hold stops early only on evidence that already breaks a bar.
// wantNums holds, per failure in order, the measured number its message must quote.
func TestRulesShadowEarlyFailure(t *testing.T) {
	c := config.ShadowCriteria{MinDuration: 24 * time.Hour, MinRequests: 1000, MaxErrorRate: 0.01, MaxP99MS: 150}
	cases := []struct {
		name     string
		s        Sample
		wantNums []string // nil = no early failure
	}{
		{"no data", Sample{NoData: true, Requests: 5000, Errors: 5000, P99MS: 999}, nil},
		{"no requests yet", Sample{Requests: 0, Errors: 0, P99MS: 999}, nil},
		{"no latency data: errors judged, p99 not",
			Sample{NoLatency: true, Requests: 1000, Errors: 1000, ErrorRate: 1}, []string{"1000"}},
		{"no latency data and no errors: no failure", Sample{NoLatency: true, Requests: 1000}, nil},
		{"5 errors in 100 with MinRequests 1000: 5/1000 = 0.005, no failure",
			Sample{Requests: 100, Errors: 5, ErrorRate: 0.05, P99MS: 10}, nil},
		{"9 errors in 100: 9/1000 = 0.009, no failure",
			Sample{Requests: 100, Errors: 9, ErrorRate: 0.09, P99MS: 10}, nil},
		{"10 errors in 100: 10/1000 = 0.01, failure",
			Sample{Requests: 100, Errors: 10, ErrorRate: 0.1, P99MS: 10}, []string{"10"}},
		{"19 errors in 2000: 0.0095 over the requests served, no failure",
			Sample{Requests: 2000, Errors: 19, ErrorRate: 0.0095, P99MS: 10}, nil},
		{"20 errors in 2000: 0.01 over the requests served, failure",
			Sample{Requests: 2000, Errors: 20, ErrorRate: 0.01, P99MS: 10}, []string{"20"}},
		{"p99 over the bar with 999 requests: not judged yet",
			Sample{Requests: 999, Errors: 0, P99MS: 200}, nil},
		{"p99 over the bar with 1000 requests: failure",
			Sample{Requests: 1000, Errors: 0, P99MS: 200}, []string{"200"}},
		{"p99 at the bar with 1000 requests: failure (exclusive)",
			Sample{Requests: 1000, Errors: 0, P99MS: 150}, []string{"150"}},
		{"p99 just below the bar with 1000 requests: no failure",
			Sample{Requests: 1000, Errors: 0, P99MS: 149.9}, nil},
		{"errors and p99 both fail",
			Sample{Requests: 1000, Errors: 50, ErrorRate: 0.05, P99MS: 300}, []string{"50", "300"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fails := ShadowEarlyFailure(tc.s, c)
			if len(fails) != len(tc.wantNums) {
				t.Fatalf("ShadowEarlyFailure(%+v) = %q, want %d failure(s)", tc.s, fails, len(tc.wantNums))
			}
			if tc.wantNums == nil && fails != nil {
				t.Fatalf("ShadowEarlyFailure(%+v) = %#v, want nil", tc.s, fails)
			}
			for i, f := range fails {
				if !strings.Contains(f, tc.wantNums[i]) {
					t.Errorf("failure %d %q does not quote the measured %s", i, f, tc.wantNums[i])
				}
			}
		})
	}
}
