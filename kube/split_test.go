package kube

import "testing"

func TestReplicaSplit(t *testing.T) {
	cases := []struct {
		total, weight, stable, canary, effective int
	}{
		{3, 0, 3, 0, 0}, {3, 5, 2, 1, 33}, {3, 20, 2, 1, 33}, {3, 50, 1, 2, 66}, {3, 100, 0, 3, 100},
		{10, 5, 9, 1, 10}, {10, 20, 8, 2, 20}, {10, 50, 5, 5, 50}, {10, 95, 1, 9, 90}, {10, 100, 0, 10, 100},
		{1, 50, 1, 0, 0}, {1, 100, 0, 1, 100}, {2, 5, 1, 1, 50}, {0, 50, 0, 0, 0}, {20, 5, 19, 1, 5},
		{3, -5, 3, 0, 0}, {3, 150, 0, 3, 100},
	}
	for _, tc := range cases {
		s, c := ReplicaSplit(tc.total, tc.weight)
		if s != tc.stable || c != tc.canary {
			t.Errorf("ReplicaSplit(%d, %d) = %d, %d; want %d, %d", tc.total, tc.weight, s, c, tc.stable, tc.canary)
		}
		if e := EffectiveWeight(s, c); e != tc.effective {
			t.Errorf("EffectiveWeight(%d, %d) = %d; want %d", s, c, e, tc.effective)
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
