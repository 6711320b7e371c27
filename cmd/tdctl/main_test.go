package main

import "testing"

// TestNumbers: the table names which rung judged shadow evidence and never prints a p99 that was
// not measured.
func TestNumbers(t *testing.T) {
	ev := map[string]any{"duration_hours": 24.0, "requests": 1200.0, "error_rate": 0.001, "latency_p99_ms": 42.0}
	for _, tc := range []struct {
		name string
		in   map[string]any
		want string
	}{
		{"shadow rung", map[string]any{"evidence": ev, "hold": "24h0m0s"}, "shadow hold 24h0m0s; 24h 1200 req err 0.001 p99 42ms"},
		{"production rung", map[string]any{"evidence": ev, "rung": "Production"}, "Production rung; 24h 1200 req err 0.001 p99 42ms"},
		{"canary step", map[string]any{"weight": 20.0,
			"canary": map[string]any{"requests": 50.0, "error_rate": 1.0, "no_latency": true},
			"stable": map[string]any{"requests": 0.0, "no_data": true}},
			"at 20%; canary 50 req err 1 no latency data; stable 0 req err 0 no data"},
		{"rollback verified", map[string]any{"canary_weight_read_back": 0.0}, "canary weight read back 0%"},
	} {
		if got := numbers(tc.in); got != tc.want {
			t.Errorf("%s: numbers = %q, want %q", tc.name, got, tc.want)
		}
	}
}
