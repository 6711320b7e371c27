package drift

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"testing"
)

// halves is a profile of three two-bin features, listed out of name order.
var halves = Profile{Version: 1, Features: []Feature{
	{Name: "c", Edges: []float64{0}, Expected: []float64{0.5, 0.5}},
	{Name: "a", Edges: []float64{0}, Expected: []float64{0.5, 0.5}},
	{Name: "b", Edges: []float64{0}, Expected: []float64{0.5, 0.5}},
}}

// psi6040 is PSI([0.5, 0.5], [60, 40]), worked out in TestPSIHandComputed.
const psi6040 = 0.04054651081081642

// TestJudgeOutcomes: any drifted feature fails the gate; else any unjudgeable one makes it
// inconclusive; a PSI equal to the threshold passes.
func TestJudgeOutcomes(t *testing.T) {
	even, drifted := []float64{50, 50}, []float64{100, 0}
	cases := []struct {
		name             string
		counts           map[string][]float64
		threshold        float64
		want             string
		wantWorst        string
		wantFailed       []string
		wantInconclusive []string
	}{
		{"all even: passed, ties go to the first name", map[string][]float64{"a": even, "b": even, "c": even}, 0,
			OutcomePassed, "a", nil, nil},
		{"one drifted: failed", map[string][]float64{"a": even, "b": even, "c": drifted}, 0,
			OutcomeFailed, "c", []string{"c"}, nil},
		{"two drifted: failed, the worse named", map[string][]float64{"a": {60, 40}, "b": {0, 100}, "c": {80, 20}}, 0,
			OutcomeFailed, "b", []string{"b", "c"}, nil},
		{"a sparse sample drifted: inconclusive, not failed", map[string][]float64{"a": even, "b": {10, 0}, "c": even}, 0,
			OutcomeInconclusive, "a", nil, []string{"b"}},
		{"no counts for one: inconclusive", map[string][]float64{"a": even, "c": even}, 0,
			OutcomeInconclusive, "a", nil, []string{"b"}},
		{"empty counts for one: inconclusive", map[string][]float64{"a": even, "b": {}, "c": even}, 0,
			OutcomeInconclusive, "a", nil, []string{"b"}},
		{"drifted and missing: failed wins", map[string][]float64{"a": drifted, "c": even}, 0,
			OutcomeFailed, "a", []string{"a"}, []string{"b"}},
		{"only sparse samples: the worst of them named", map[string][]float64{"a": {5, 5}, "b": {9, 1}, "c": {0, 0}}, 0,
			OutcomeInconclusive, "b", nil, []string{"a", "b", "c"}},
		{"no counts at all: no worst", nil, 0, OutcomeInconclusive, "", nil, []string{"a", "b", "c"}},
		{"PSI equal to the threshold passes", map[string][]float64{"a": {60, 40}, "b": even, "c": even}, psi6040,
			OutcomePassed, "a", nil, nil},
		{"PSI just above the threshold fails", map[string][]float64{"a": {60, 40}, "b": even, "c": even},
			math.Nextafter(psi6040, 0), OutcomeFailed, "a", []string{"a"}, nil},
		// [71, 29]: 0.21·ln(1.42) + 0.21·ln(0.5/0.29) = 0.21·(0.3506569 + 0.5447272) = 0.1880306
		{"default 0.2: PSI 0.188 passes", map[string][]float64{"a": {71, 29}, "b": even, "c": even}, 0,
			OutcomePassed, "a", nil, nil},
		// [72, 28]: 0.22·ln(1.44) + 0.22·ln(0.5/0.28) = 0.22·(0.3646431 + 0.5798185) = 0.2077815
		{"default 0.2: PSI 0.208 fails", map[string][]float64{"a": {72, 28}, "b": even, "c": even}, 0,
			OutcomeFailed, "a", []string{"a"}, nil},
		{"a higher threshold lets a drift pass", map[string][]float64{"a": {72, 28}, "b": even, "c": even}, 0.25,
			OutcomePassed, "a", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Judge(halves, tc.counts, tc.threshold, Options{})
			if err != nil {
				t.Fatalf("Judge: %v", err)
			}
			var failed, inconclusive, names []string
			for _, f := range v.Features {
				names = append(names, f.Feature)
				if f.Failed {
					failed = append(failed, f.Feature)
				}
				if f.Inconclusive {
					inconclusive = append(inconclusive, f.Feature)
				}
			}
			if v.Outcome != tc.want || v.Worst != tc.wantWorst {
				t.Errorf("Outcome, Worst = %q, %q, want %q, %q (%s)", v.Outcome, v.Worst, tc.want, tc.wantWorst, v.Summary)
			}
			if !reflect.DeepEqual(failed, tc.wantFailed) || !reflect.DeepEqual(inconclusive, tc.wantInconclusive) {
				t.Errorf("failed %q, inconclusive %q; want %q, %q", failed, inconclusive, tc.wantFailed, tc.wantInconclusive)
			}
			if !reflect.DeepEqual(names, []string{"a", "b", "c"}) {
				t.Errorf("features in order %q, want sorted by name", names)
			}
			want := tc.threshold
			if want == 0 {
				want = DefaultThreshold
			}
			if v.Threshold != want {
				t.Errorf("Threshold = %v, want %v", v.Threshold, want)
			}
		})
	}
}

// TestJudgeRecord: the verdict says what it judged, in words and in numbers, for the ledger.
func TestJudgeRecord(t *testing.T) {
	counts := map[string][]float64{"a": {60, 40}, "c": {100, 0}, "zz": {1, 2}, "extra": {3}}
	v, err := Judge(halves, counts, 0, Options{})
	if err != nil {
		t.Fatalf("Judge: %v", err)
	}
	if want := "1 of 3 features drifted above PSI 0.2: c (PSI 4.604); worst c at PSI 4.604"; v.Summary != want {
		t.Errorf("Summary = %q, want %q", v.Summary, want)
	}
	if want := []string{"extra", "zz"}; !reflect.DeepEqual(v.UnknownFeatures, want) {
		t.Errorf("UnknownFeatures = %q, want %q", v.UnknownFeatures, want)
	}
	if want := (Options{Epsilon: DefaultEpsilon, MinTotal: DefaultMinTotal, MinExpectedPerBin: DefaultMinExpectedPerBin}); v.Options != want {
		t.Errorf("Options = %+v, want the defaults %+v", v.Options, want)
	}
	b := v.Features[1]
	if b.Feature != "b" || !b.Missing || !b.Inconclusive || b.Reason != "no counts measured" || b.Failed {
		t.Errorf("feature b = %+v, want missing and inconclusive", b)
	}
	a := v.Features[0]
	if !near(a.PSI, psi6040) || a.Total != 100 || !reflect.DeepEqual(a.Actual, []float64{0.6, 0.4}) ||
		!reflect.DeepEqual(a.Expected, []float64{0.5, 0.5}) {
		t.Errorf("feature a = %+v, want PSI %v over 100 with shares [0.6 0.4]", a, psi6040)
	}

	sparse, err := Judge(halves, map[string][]float64{"a": {60, 40}, "b": {10, 0}}, 0, Options{})
	if err != nil {
		t.Fatalf("Judge: %v", err)
	}
	want := "2 of 3 features could not be judged: b (10 observations, want at least 100), c (no counts measured); " +
		"worst a at PSI 0.04055"
	if sparse.Summary != want {
		t.Errorf("Summary = %q, want %q", sparse.Summary, want)
	}
}

// TestJudgeJSON: the verdict goes to the ledger as snake_case JSON and comes back unchanged.
func TestJudgeJSON(t *testing.T) {
	v, err := Judge(halves, map[string][]float64{"a": {60, 40}, "b": {0, 0}}, 0, Options{})
	if err != nil {
		t.Fatalf("Judge: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	if got, want := sortedKeys(keys), []string{"features", "options", "outcome", "summary", "threshold", "worst_feature", "worst_psi"}; !reflect.DeepEqual(got, want) {
		t.Errorf("verdict keys %q, want %q", got, want)
	}
	var shape struct {
		Options  map[string]json.RawMessage   `json:"options"`
		Features []map[string]json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(b, &shape); err != nil {
		t.Fatal(err)
	}
	if got, want := sortedKeys(shape.Options), []string{"epsilon", "min_expected_per_bin", "min_total"}; !reflect.DeepEqual(got, want) {
		t.Errorf("options keys %q, want %q", got, want)
	}
	for i, want := range [][]string{
		{"actual", "expected", "failed", "feature", "inconclusive", "psi", "total"},
		{"expected", "failed", "feature", "inconclusive", "psi", "reason", "total"},
		{"expected", "failed", "feature", "inconclusive", "missing", "psi", "reason", "total"},
	} {
		if got := sortedKeys(shape.Features[i]); !reflect.DeepEqual(got, want) {
			t.Errorf("features[%d] keys %q, want %q", i, got, want)
		}
	}
	var back Verdict
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, v) {
		t.Errorf("round trip = %+v, %v; want %+v", back, err, v)
	}
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestJudgeErrors: counts that cannot be judged are errors naming the feature, as are a bad
// profile, threshold or options.
func TestJudgeErrors(t *testing.T) {
	even := []float64{50, 50}
	dup := Profile{Version: 1, Features: []Feature{halves.Features[0], halves.Features[0]}}
	cases := []struct {
		name      string
		p         Profile
		counts    map[string][]float64
		threshold float64
		opt       Options
		want      string
		wantIs    error
	}{
		{"three counts for two bins", halves, map[string][]float64{"a": even, "b": {1, 2, 3}}, 0, Options{},
			`feature "b": invalid drift counts: 3 counts for 2 bins`, ErrInvalidCounts},
		{"negative count", halves, map[string][]float64{"c": {50, -50}}, 0, Options{},
			`feature "c": invalid drift counts: counts[1] is -50, want a finite count >= 0`, ErrInvalidCounts},
		{"NaN count", halves, map[string][]float64{"a": {math.NaN(), 50}}, 0, Options{},
			`feature "a": invalid drift counts: counts[0] is NaN, want a finite count >= 0`, ErrInvalidCounts},
		{"negative threshold", halves, nil, -0.2, Options{}, "drift threshold -0.2, want a finite number > 0", nil},
		{"NaN threshold", halves, nil, math.NaN(), Options{}, "drift threshold NaN, want a finite number > 0", nil},
		{"infinite threshold", halves, nil, math.Inf(1), Options{}, "drift threshold +Inf, want a finite number > 0", nil},
		{"bad options", halves, nil, 0, Options{Epsilon: 2}, "drift options: epsilon 2, want 0 < epsilon < 1", nil},
		{"duplicate features", dup, nil, 0, Options{},
			`invalid drift reference profile: features[1].name: "c" duplicates features[0].name`, ErrInvalidProfile},
		{"zero profile", Profile{}, nil, 0, Options{}, "invalid drift reference profile: version: 0, want 1", ErrInvalidProfile},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Judge(tc.p, tc.counts, tc.threshold, tc.opt)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Judge = %+v, %v; want error %q", v, err, tc.want)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tc.wantIs)
			}
		})
	}
}

// BenchmarkJudge judges 50 features of 10 bins each, as a shadow hold would every sample.
func BenchmarkJudge(b *testing.B) {
	p := Profile{Version: 1}
	counts := make(map[string][]float64)
	for i := range 50 {
		f := Feature{Name: fmt.Sprintf("feature_%02d", i), Edges: make([]float64, 9), Expected: make([]float64, 10)}
		c := make([]float64, 10)
		for j := range f.Expected {
			f.Expected[j] = 0.1
			c[j] = float64(1000 + 37*((i+j)%7))
		}
		for j := range f.Edges {
			f.Edges[j] = float64(j)
		}
		p.Features = append(p.Features, f)
		counts[f.Name] = c
	}
	b.ReportAllocs()
	for b.Loop() {
		if v, err := Judge(p, counts, 0, Options{}); err != nil || v.Outcome != OutcomePassed {
			b.Fatalf("Judge = %+v, %v", v, err)
		}
	}
}
