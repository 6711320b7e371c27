package load

import (
	"encoding/json"
	"math"
	"testing"
)

func rowOf(t *testing.T, b []byte) []float64 {
	t.Helper()
	var v struct{ Rows [][]float64 }
	if err := json.Unmarshal(b, &v); err != nil || len(v.Rows) != 1 {
		t.Fatalf("body %s: %v", b, err)
	}
	return v.Rows[0]
}

// TestGaussianInputs: rows are standard normal per feature, the shadow's copy is the live row
// shifted by exactly ShadowShift, the same seed draws the same rows, and bad sizes are refused.
func TestGaussianInputs(t *testing.T) {
	shift := 0.0
	d, err := newDrawer(&Gaussian{Features: 3, Seed: 7, ShadowShift: func() float64 { return shift }})
	if err != nil {
		t.Fatal(err)
	}
	const n = 4000
	var sum, sq [3]float64
	for i := range n {
		if i == n/2 {
			shift = 1.5
		}
		live, shadow := d.next()
		l, s := rowOf(t, live), rowOf(t, shadow)
		for j := range l {
			sum[j] += l[j]
			sq[j] += l[j] * l[j]
			if want := l[j] + shift; math.Abs(s[j]-want) > 2e-6 {
				t.Fatalf("row %d: shadow %v, want live %v + %g", i, s, l, shift)
			}
		}
	}
	for j := range sum {
		mean, variance := sum[j]/n, sq[j]/n-(sum[j]/n)*(sum[j]/n)
		if math.Abs(mean) > 0.1 || math.Abs(variance-1) > 0.1 {
			t.Errorf("feature %d: mean %.3f variance %.3f, want about 0 and 1", j, mean, variance)
		}
	}
	a, _ := newDrawer(&Gaussian{Features: 2, Seed: 1})
	b, _ := newDrawer(&Gaussian{Features: 2, Seed: 1})
	if x, _ := a.next(); string(x) != string(first(b)) {
		t.Error("the same seed drew different rows")
	}
	for _, f := range []int{0, 1001} {
		if _, err := newDrawer(&Gaussian{Features: f}); err == nil {
			t.Errorf("%d features accepted", f)
		}
	}
}

func first(d *drawer) []byte { b, _ := d.next(); return b }
