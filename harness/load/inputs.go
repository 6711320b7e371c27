package load

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
)

// Gaussian draws each live request's body as one row of Features independent standard-normal
// values, {"rows": [[x0, x1, …]]}: the distribution the test models' drift reference profiles
// describe (tests/realparts/log_model.py). The copy sent to the shadow is the same row with
// ShadowShift() added to every value, so a test or the demo can show a candidate drawn from a
// shifted distribution (the drift gate's case) while the live workloads are not.
type Gaussian struct {
	Features    int
	Seed        uint64
	ShadowShift func() float64 // nil: no shift
}

type drawer struct {
	g   *Gaussian
	rng *rand.Rand
	row []float64
}

func newDrawer(g *Gaussian) (*drawer, error) {
	if g.Features < 1 || g.Features > 1000 {
		return nil, errors.New("load: gaussian inputs need 1..1000 features")
	}
	return &drawer{g: g, rng: rand.New(rand.NewPCG(g.Seed, g.Seed^0x9e3779b97f4a7c15)), row: make([]float64, g.Features)}, nil
}

// next draws a row and returns the live body and the shadow's.
func (d *drawer) next() (live, shadow []byte) {
	for i := range d.row {
		d.row[i] = d.rng.NormFloat64()
	}
	live = body(d.row, 0)
	shift := 0.0
	if d.g.ShadowShift != nil {
		shift = d.g.ShadowShift()
	}
	if shift == 0 || math.IsNaN(shift) || math.IsInf(shift, 0) {
		return live, live
	}
	return live, body(d.row, shift)
}

func body(row []float64, shift float64) []byte {
	b := []byte(`{"rows": [[`)
	for i, x := range row {
		if i > 0 {
			b = append(b, ", "...)
		}
		// Always with a fraction: a whole number would reach the model as an integer column.
		b = strconv.AppendFloat(b, x+shift, 'f', 6, 64)
	}
	return append(b, "]]}"...)
}
