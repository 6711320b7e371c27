package governance

import (
	"strings"
	"testing"
)

// TestCheckTestEvidence is R1's edges: coverage at, above and below the minimum in both forms,
// ambiguous and garbage values, failed tests, missing tags.
func TestCheckTestEvidence(t *testing.T) {
	tags := func(passed, failed, coverage string) map[string]string {
		m := map[string]string{}
		for k, v := range map[string]string{TagTestsPassed: passed, TagTestsFailed: failed, TagTestsCoverage: coverage} {
			if v != "<absent>" {
				m[k] = v
			}
		}
		return m
	}
	cases := []struct {
		name     string
		tags     map[string]string
		min      float64
		wantPass bool
		want     []string // substrings of Detail
		wantCov  float64  // Inputs["coverage"] when parsed; -1 when absent
	}{
		{"fraction above", tags("120", "0", "0.935"), 0.90, true, []string{"120 tests passed, none failed, coverage 93.5% ≥ 90%"}, 0.935},
		{"percent above", tags("120", "0", "93.5%"), 0.90, true, []string{"coverage 93.5%"}, 0.935},
		{"fraction exactly at the minimum", tags("1", "0", "0.9"), 0.90, true, nil, 0.9},
		{"percent exactly at the minimum", tags("1", "0", "90%"), 0.90, true, nil, 0.9},
		{"percent with decimals at the minimum", tags("1", "0", "90.0 %"), 0.90, true, nil, 0.9},
		{"percent at an odd minimum", tags("1", "0", "90.1%"), 0.901, true, nil, 0.901},
		{"100%", tags("1", "0", "100%"), 0.90, true, nil, 1},
		{"fraction 1", tags("1", "0", "1"), 0.90, true, nil, 1},
		{"spaces around values", tags(" 7 ", " 0 ", " 0.95 "), 0.90, true, nil, 0.95},
		{"minimum 0 takes any coverage", tags("1", "0", "0"), 0, true, nil, 0},
		{"fraction just below", tags("1", "0", "0.8999"), 0.90, false,
			[]string{`tag tests.coverage = "0.8999": coverage 89.99% is below the minimum 90%`}, 0.8999},
		{"percent just below", tags("1", "0", "89.99%"), 0.90, false, []string{"coverage 89.99% is below the minimum 90%"}, 0.8999},
		{"seed's scar: 73%", tags("40", "0", "73%"), 0.90, false, []string{"coverage 73% is below"}, 0.73},
		{"ambiguous without %", tags("1", "0", "93.5"), 0.90, false,
			[]string{`tag tests.coverage = "93.5" is ambiguous: above 1 without %`}, -1},
		{"above 100%", tags("1", "0", "100.5%"), 0.90, false, []string{`"100.5%" is above 100%`}, -1},
		{"negative", tags("1", "0", "-0.5"), 0.90, false, []string{`tag tests.coverage = "-0.5" is not a coverage`}, -1},
		{"garbage", tags("1", "0", "high"), 0.90, false, []string{`tag tests.coverage = "high" is not a coverage`}, -1},
		{"empty coverage", tags("1", "0", ""), 0.90, false, []string{`tag tests.coverage = "" is not a coverage`}, -1},
		{"NaN", tags("1", "0", "NaN"), 0.90, false, []string{`"NaN" is not a coverage`}, -1},
		{"exponent", tags("1", "0", "9e-1"), 0.90, false, []string{`"9e-1" is not a coverage`}, -1},
		{"comma decimal", tags("1", "0", "93,5%"), 0.90, false, []string{`"93,5%" is not a coverage`}, -1},
		{"percent sign only", tags("1", "0", "%"), 0.90, false, []string{`"%" is not a coverage`}, -1},
		{"failed tests", tags("118", "2", "0.95"), 0.90, false, []string{"tag tests.failed is 2: tests failed"}, 0.95},
		{"no tests ran", tags("0", "0", "0.95"), 0.90, false, []string{"tag tests.passed is 0: no tests ran"}, 0.95},
		{"count not a number", tags("many", "0", "0.95"), 0.90, false,
			[]string{`tag tests.passed = "many" is not a count (a whole number ≥ 0)`}, 0.95},
		{"count negative", tags("5", "-1", "0.95"), 0.90, false, []string{`tag tests.failed = "-1" is not a count`}, 0.95},
		{"count with a fraction", tags("5.0", "0", "0.95"), 0.90, false, []string{`tag tests.passed = "5.0" is not a count`}, 0.95},
		{"count with a plus sign", tags("+5", "0", "0.95"), 0.90, false, []string{`tag tests.passed = "+5" is not a count`}, 0.95},
		{"coverage missing", tags("5", "0", "<absent>"), 0.90, false, []string{"tag tests.coverage is missing"}, -1},
		{"failed missing", tags("5", "<absent>", "0.95"), 0.90, false, []string{"tag tests.failed is missing"}, 0.95},
		{"no test evidence at all", nil, 0.90, false,
			[]string{"tag tests.passed is missing; tag tests.failed is missing; tag tests.coverage is missing"}, -1},
		{"every problem at once", tags("0", "3", "50%"), 0.90, false,
			[]string{"no tests ran", "tests failed", "coverage 50% is below the minimum 90%"}, 0.5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := CheckTestEvidence(Evidence{Tags: tc.tags}, tc.min)
			if f.Rule != RuleTestEvidence || f.Passed != tc.wantPass {
				t.Fatalf("CheckTestEvidence = %s passed=%v (%s), want %s passed=%v", f.Rule, f.Passed, f.Detail, RuleTestEvidence, tc.wantPass)
			}
			for _, w := range tc.want {
				if !strings.Contains(f.Detail, w) {
					t.Errorf("Detail = %q, want it to contain %q", f.Detail, w)
				}
			}
			cov, ok := f.Inputs["coverage"].(float64)
			switch {
			case tc.wantCov < 0 && ok:
				t.Errorf("Inputs[coverage] = %v, want none", cov)
			case tc.wantCov >= 0 && (!ok || cov < tc.wantCov-1e-12 || cov > tc.wantCov+1e-12):
				t.Errorf("Inputs[coverage] = %v (%v), want %v", cov, ok, tc.wantCov)
			}
			if f.Inputs["min_coverage"] != tc.min {
				t.Errorf("Inputs[min_coverage] = %v, want %v", f.Inputs["min_coverage"], tc.min)
			}
		})
	}
}
