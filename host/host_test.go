package host

import (
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/config"
)

// TestOptions: a stopping worker lets in-flight activities finish for the configured time,
// heartbeats (which carry a cancellation back) are not held back for long, and the worker runs as
// many activities at once as configured.
func TestOptions(t *testing.T) {
	cfg := config.Defaults()
	cfg.StopTimeout, cfg.MaxActivities = 45*time.Second, 12000
	o := Options(cfg)
	if o.WorkerStopTimeout != 45*time.Second || o.MaxHeartbeatThrottleInterval != time.Second || o.MaxConcurrentActivityExecutionSize != 12000 {
		t.Fatalf("worker options %+v", o)
	}
	if len(o.Interceptors) != 1 { // telemetry.Outcomes: finished runs counted by outcome
		t.Fatalf("worker interceptors %v, want the outcome counter", o.Interceptors)
	}
}
