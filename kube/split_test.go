package kube

import "testing"

func TestReplicaSplit(t *testing.T) {
	cases := []struct {
		prod, weight, stable, canary, effective int
	}{
		{3, 0, 3, 0, 0}, {3, 5, 3, 1, 25}, {3, 20, 3, 1, 25}, {3, 50, 3, 3, 50}, {3, 80, 1, 3, 75}, {3, 100, 0, 3, 100},
		{10, 5, 10, 1, 9}, {10, 20, 10, 3, 23}, {10, 50, 10, 10, 50}, {10, 95, 1, 10, 90}, {10, 100, 0, 10, 100},
		{1, 5, 1, 1, 50}, {1, 50, 1, 1, 50}, {1, 100, 0, 1, 100}, {2, 5, 2, 1, 33}, {0, 50, 0, 0, 0},
		{20, 5, 20, 1, 4}, {20, 75, 7, 20, 74}, {3, -5, 3, 0, 0}, {3, 150, 0, 3, 100},
	}
	for _, tc := range cases {
		s, c := ReplicaSplit(tc.prod, tc.weight)
		if s != tc.stable || c != tc.canary {
			t.Errorf("ReplicaSplit(%d, %d) = %d, %d; want %d, %d", tc.prod, tc.weight, s, c, tc.stable, tc.canary)
		}
		if e := EffectiveWeight(s, c); e != tc.effective {
			t.Errorf("EffectiveWeight(%d, %d) = %d; want %d", s, c, e, tc.effective)
		}
		// Production never serves with fewer pods than it had, nor the split with more than twice.
		if tc.prod > 0 && (s+c < tc.prod || s+c > 2*tc.prod) {
			t.Errorf("ReplicaSplit(%d, %d) serves %d pods; want between %d and %d", tc.prod, tc.weight, s+c, tc.prod, 2*tc.prod)
		}
		// The split remembers production's size: the next step starts from the same prod.
		if p := ProductionSize(s, c); tc.prod > 0 && p != tc.prod {
			t.Errorf("ProductionSize(%d, %d) = %d; want %d", s, c, p, tc.prod)
		}
	}
}

func TestCanaryCapacity(t *testing.T) {
	cases := []struct{ total, weight, want int }{
		{3, 0, 0}, {3, 5, 1}, {3, 20, 1}, {3, 50, 2}, {3, 100, 3}, {10, 5, 1}, {10, 55, 6}, {0, 50, 0},
	}
	for _, tc := range cases {
		if got := CanaryCapacity(tc.total, tc.weight); got != tc.want {
			t.Errorf("CanaryCapacity(%d, %d) = %d; want %d", tc.total, tc.weight, got, tc.want)
		}
	}
}
