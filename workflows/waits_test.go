package workflows

import (
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"
)

// TestWaitingActivitiesHeartbeat: every activity that waits (rollouts and packaging, measured
// holds, health probes) has a heartbeat timeout shorter than its attempt, so a worker killed
// mid-wait is noticed and the attempt retried by another within it; without one, a probe killed
// with its worker waited out its 5-minute attempt (7m32s to recover in the deploy crash matrix).
func TestWaitingActivitiesHeartbeat(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    workflow.ActivityOptions
	}{
		{"long", long("a rollout")},
		{"holding", holding("a canary hold", 15*time.Minute)},
		{"shadowHolding", shadowHolding("a shadow hold", 24*time.Hour)},
		{"probing", probing("a health check")},
	} {
		if hb := tc.o.HeartbeatTimeout; hb <= 0 || hb >= tc.o.StartToCloseTimeout {
			t.Errorf("%s: heartbeat timeout %s with an attempt of %s, want one shorter than the attempt", tc.name, hb, tc.o.StartToCloseTimeout)
		}
	}
}
