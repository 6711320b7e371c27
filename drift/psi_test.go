package drift

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

// near says a and b agree to 12 significant digits.
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// TestPSIHandComputed checks PSI against values worked out by hand, term by term
// (a_i - e_i)·ln(a_i/e_i), with shares floored at ε = 1e-4 unless the case says otherwise.
func TestPSIHandComputed(t *testing.T) {
	cases := []struct {
		name       string
		expected   []float64
		counts     []float64
		opt        Options
		want       float64
		wantActual []float64
	}{
		// a = [0.6, 0.4]: 0.1·ln(1.2) + (−0.1)·ln(0.8) = 0.1·0.1823216 + 0.1·0.2231436 = 0.0405465
		{"two bins, 60/40 against 50/50", []float64{0.5, 0.5}, []float64{60, 40}, Options{},
			0.04054651081081642, []float64{0.6, 0.4}},
		// Only shares matter: 600/400 is 60/40.
		{"two bins, 600/400 against 50/50", []float64{0.5, 0.5}, []float64{600, 400}, Options{},
			0.04054651081081642, []float64{0.6, 0.4}},
		// a = [0.4, 0.3, 0.2, 0.1], e = 0.25 each:
		//   0.15·ln(1.6) = 0.15·0.4700036 = 0.0705005
		//   0.05·ln(1.2) = 0.05·0.1823216 = 0.0091161
		//  −0.05·ln(0.8) = 0.05·0.2231436 = 0.0111572
		//  −0.15·ln(0.4) = 0.15·0.9162907 = 0.1374436   sum 0.2282174: above 0.2
		{"four quartiles skewed", []float64{0.25, 0.25, 0.25, 0.25}, []float64{40, 30, 20, 10}, Options{},
			0.22821740957339182, []float64{0.4, 0.3, 0.2, 0.1}},
		// Empty measured bin: a = [1, 0] → [1, 1e-4].
		//   (1 − 0.5)·ln(1/0.5) = 0.5·0.6931472 = 0.3465736
		//   (1e-4 − 0.5)·ln(1e-4/0.5) = −0.4999·ln(2e-4) = 0.4999·8.5171932 = 4.2577449   sum 4.6043185
		{"measured share 0 in a bin expected at 0.5", []float64{0.5, 0.5}, []float64{100, 0}, Options{},
			4.60431846666895, []float64{1, 0}},
		// The same with ε = 1e-3: −0.499·ln(0.002) = 0.499·6.2146081 = 3.1010894, + 0.3465736 = 3.4476630
		{"the same with epsilon 1e-3", []float64{0.5, 0.5}, []float64{100, 0}, Options{Epsilon: 1e-3},
			3.447663031392646, []float64{1, 0}},
		// Expected share 0, measured 0.1: e = [0.5, 0.5, 0] → [0.5, 0.5, 1e-4], a = [0.45, 0.45, 0.1].
		//   2 · (−0.05)·ln(0.9) = 2 · 0.05·0.1053605 = 0.0105361
		//   (0.1 − 1e-4)·ln(0.1/1e-4) = 0.0999·6.9077553 = 0.6900848   sum 0.7006208
		{"expected share 0, measured 0.1", []float64{0.5, 0.5, 0}, []float64{45, 45, 10}, Options{},
			0.7006208039360982, []float64{0.45, 0.45, 0.1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := PSI(tc.expected, tc.counts, tc.opt)
			if err != nil {
				t.Fatalf("PSI: %v", err)
			}
			if !near(r.PSI, tc.want) {
				t.Errorf("PSI = %.17g, want %.17g", r.PSI, tc.want)
			}
			if !reflect.DeepEqual(r.Actual, tc.wantActual) {
				t.Errorf("Actual = %v, want %v", r.Actual, tc.wantActual)
			}
			if r.Inconclusive || r.Reason != "" {
				t.Errorf("Inconclusive = %v (%q), want a sufficient sample", r.Inconclusive, r.Reason)
			}
		})
	}
}

// TestPSIIdentical: measured shares equal to the reference give exactly 0, empty bins included.
func TestPSIIdentical(t *testing.T) {
	cases := []struct {
		name     string
		expected []float64
		counts   []float64
	}{
		{"deciles of a symmetric feature", []float64{0.1, 0.4, 0.4, 0.1}, []float64{10, 40, 40, 10}},
		{"larger sample", []float64{0.25, 0.25, 0.5}, []float64{250, 250, 500}},
		{"a bin empty on both sides", []float64{0.5, 0.5, 0}, []float64{50, 50, 0}},
		{"everything in one bin", []float64{0, 1}, []float64{0, 300}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := PSI(tc.expected, tc.counts, Options{})
			if err != nil || r.PSI != 0 || r.Inconclusive {
				t.Fatalf("PSI = %+v, %v; want 0, conclusive", r, err)
			}
		})
	}
}

// TestPSISufficiency: small samples are inconclusive, never failing; the PSI is still recorded.
func TestPSISufficiency(t *testing.T) {
	cases := []struct {
		name       string
		expected   []float64
		counts     []float64
		opt        Options
		wantReason string // "" = sufficient
	}{
		{"100 observations suffice", []float64{0.5, 0.5}, []float64{100, 0}, Options{}, ""},
		{"99 observations do not", []float64{0.5, 0.5}, []float64{99, 0}, Options{},
			"99 observations, want at least 100"},
		{"a bin expecting 4 observations", []float64{0.04, 0.96}, []float64{0, 100}, Options{},
			"bin 0 expects 4 observations (share 0.04 of 100), want at least 5"},
		{"the smallest expected share binds", []float64{0.9, 0.01, 0.09}, []float64{100, 100, 100}, Options{},
			"bin 1 expects 3 observations (share 0.01 of 300), want at least 5"},
		{"a bin expecting exactly 5 observations", []float64{0.04, 0.96}, []float64{0, 125}, Options{}, ""},
		{"bins expected at 0 need nothing", []float64{0.5, 0.5, 0}, []float64{50, 50, 0}, Options{}, ""},
		{"a higher MinTotal", []float64{0.5, 0.5}, []float64{500, 499}, Options{MinTotal: 1000},
			"999 observations, want at least 1000"},
		{"a higher MinExpectedPerBin", []float64{0.1, 0.9}, []float64{10, 90}, Options{MinExpectedPerBin: 20},
			"bin 0 expects 10 observations (share 0.1 of 100), want at least 20"},
		{"minima switched off", []float64{0.04, 0.96}, []float64{3, 2}, Options{MinTotal: -1, MinExpectedPerBin: -1}, ""},
		{"no observations", []float64{0.5, 0.5}, []float64{0, 0}, Options{MinTotal: -1, MinExpectedPerBin: -1},
			"no observations"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := PSI(tc.expected, tc.counts, tc.opt)
			if err != nil {
				t.Fatalf("PSI: %v", err)
			}
			if r.Reason != tc.wantReason || r.Inconclusive != (tc.wantReason != "") {
				t.Fatalf("PSI = %+v, want reason %q", r, tc.wantReason)
			}
			if r.Total == 0 && (r.PSI != 0 || r.Actual != nil) {
				t.Errorf("no observations: PSI %v, Actual %v, want 0 and nil", r.PSI, r.Actual)
			}
		})
	}
}

// TestPSIInconclusiveKeepsPSI: an inconclusive result still carries its PSI for the record: 99
// observations all in bin 0 have the shares of case "measured share 0 …" of TestPSIHandComputed.
func TestPSIInconclusiveKeepsPSI(t *testing.T) {
	r, err := PSI([]float64{0.5, 0.5}, []float64{99, 0}, Options{})
	if err != nil || !r.Inconclusive || !near(r.PSI, 4.60431846666895) || r.Total != 99 {
		t.Fatalf("PSI = %+v, %v; want inconclusive with PSI 4.60431846666895 over 99", r, err)
	}
}

// TestPSIErrors: what cannot be judged is an error, not a number.
func TestPSIErrors(t *testing.T) {
	half := []float64{0.5, 0.5}
	cases := []struct {
		name       string
		expected   []float64
		counts     []float64
		opt        Options
		want       string
		wantCounts bool // wraps ErrInvalidCounts
	}{
		{"one count short", half, []float64{1}, Options{}, "invalid drift counts: 1 counts for 2 bins", true},
		{"no counts", half, nil, Options{}, "invalid drift counts: 0 counts for 2 bins", true},
		{"negative count", half, []float64{10, -1}, Options{}, "invalid drift counts: counts[1] is -1, want a finite count >= 0", true},
		{"NaN count", half, []float64{math.NaN(), 1}, Options{}, "invalid drift counts: counts[0] is NaN, want a finite count >= 0", true},
		{"infinite count", half, []float64{math.Inf(1), 1}, Options{}, "invalid drift counts: counts[0] is +Inf, want a finite count >= 0", true},
		{"counts overflowing", half, []float64{1.7e308, 1.7e308}, Options{}, "invalid drift counts: counts sum to +Inf", true},
		{"no bins", nil, nil, Options{}, "drift expected shares: empty, want one per bin", false},
		{"NaN share", []float64{math.NaN(), 1}, []float64{1, 1}, Options{},
			"drift expected shares: expected[0] is NaN, want a finite share >= 0", false},
		{"negative share", []float64{-0.5, 1.5}, []float64{1, 1}, Options{},
			"drift expected shares: expected[0] is -0.5, want a finite share >= 0", false},
		{"negative epsilon", half, []float64{1, 1}, Options{Epsilon: -1e-4}, "drift options: epsilon -0.0001, want 0 < epsilon < 1", false},
		{"epsilon 1", half, []float64{1, 1}, Options{Epsilon: 1}, "drift options: epsilon 1, want 0 < epsilon < 1", false},
		{"NaN epsilon", half, []float64{1, 1}, Options{Epsilon: math.NaN()}, "drift options: epsilon NaN, want 0 < epsilon < 1", false},
		{"NaN MinTotal", half, []float64{1, 1}, Options{MinTotal: math.NaN()}, "drift options: min_total NaN, want a finite number", false},
		{"infinite MinExpectedPerBin", half, []float64{1, 1}, Options{MinExpectedPerBin: math.Inf(1)},
			"drift options: min_expected_per_bin +Inf, want a finite number", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := PSI(tc.expected, tc.counts, tc.opt)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("PSI = %+v, %v; want error %q", r, err, tc.want)
			}
			if errors.Is(err, ErrInvalidCounts) != tc.wantCounts {
				t.Errorf("errors.Is(%v, ErrInvalidCounts) = %v, want %v", err, !tc.wantCounts, tc.wantCounts)
			}
		})
	}
}

// TestPSIFinite: no mix of empty, tiny and huge shares and counts gives NaN, Inf or a negative PSI.
func TestPSIFinite(t *testing.T) {
	shares := [][]float64{{1, 0, 0}, {0, 0, 1}, {1e-300, 0.5, 0.5}, {0.3333, 0.3333, 0.3334}, {5e-5, 0, 0.99995}}
	counts := [][]float64{{0, 0, 1}, {1e300, 0, 1e-300}, {0, 1e-300, 0}, {1, 1, 1}, {7, 0, 0}, {0, 0, 0}}
	for _, e := range shares {
		for _, c := range counts {
			for _, eps := range []float64{1e-4, 1e-12, 0.5} {
				r, err := PSI(e, c, Options{Epsilon: eps})
				if err != nil {
					t.Fatalf("PSI(%v, %v, ε %g): %v", e, c, eps, err)
				}
				if math.IsNaN(r.PSI) || math.IsInf(r.PSI, 0) || r.PSI < 0 {
					t.Errorf("PSI(%v, %v, ε %g) = %v, want finite and >= 0", e, c, eps, r.PSI)
				}
				for _, a := range r.Actual {
					if math.IsNaN(a) || math.IsInf(a, 0) {
						t.Errorf("PSI(%v, %v, ε %g): Actual %v not finite", e, c, eps, r.Actual)
					}
				}
			}
		}
	}
}
