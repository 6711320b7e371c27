package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/temporaldeployer/temporaldeployer/rules"
)

// HoldShadow is the shadow rung's durable, measured hold: one long activity that samples the
// metrics source every r.Every and heartbeats its counters, so a 24 h hold costs a handful of
// history events instead of one timer and one activity per sample. On a worker with Holds, the
// hold is handed to them (parked: no goroutine and no activity slot of its own while it waits) and
// completed by them; otherwise this call waits for it.
func (a *Activities) HoldShadow(ctx context.Context, r ShadowHoldRequest) (ShadowMeasurement, error) {
	if a.Metrics == nil {
		return ShadowMeasurement{}, notConfigured("metrics", "the shadow hold")
	}
	if r.Every <= 0 {
		return ShadowMeasurement{}, fmt.Errorf("shadow hold of %s: sampling interval %s must be positive", r.Workload, r.Every)
	}
	var cp holdCheckpoint
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &cp) // a bad checkpoint restarts the counters, never the window
	}
	if a.Holds != nil && activity.IsActivity(ctx) {
		a.Holds.park(activity.GetInfo(ctx).TaskToken, r, cp)
		return ShadowMeasurement{}, activity.ErrResultPending
	}
	end := r.From.Add(r.Hold)
	for time.Now().Before(end) {
		if err := sleepBeating(ctx, minTime(time.Now().Add(r.Every), end), cp); err != nil {
			return ShadowMeasurement{}, err
		}
		if !time.Now().Before(end) {
			break
		}
		if early := a.sampleShadow(ctx, r, &cp); early != nil {
			return *early, nil
		}
	}
	return a.endShadow(ctx, r, cp)
}

// sampleShadow samples the hold's window so far into cp; it returns the measurement that ends the
// hold when the sample already breaks a hard limit. A failed sample is counted, not fatal.
func (a *Activities) sampleShadow(ctx context.Context, r ShadowHoldRequest, cp *holdCheckpoint) *ShadowMeasurement {
	s, err := a.Metrics.Sample(ctx, r.Workload, r.From, time.Now())
	if err != nil {
		cp.SourceErrors++
		a.logger().Warn("shadow sample failed", "workload", r.Workload.String(), "error", err)
		return nil
	}
	cp.Samples, cp.Last = cp.Samples+1, s
	if fails := rules.ShadowEarlyFailure(s, r.Criteria); len(fails) > 0 {
		return &ShadowMeasurement{Last: s, Samples: cp.Samples, SourceErrors: cp.SourceErrors, EarlyFailure: fails}
	}
	return nil
}

// endShadow measures the whole hold, and its input drift when asked. An error is retried by
// Temporal: the retry finds the hold over and measures the same window.
func (a *Activities) endShadow(ctx context.Context, r ShadowHoldRequest, cp holdCheckpoint) (ShadowMeasurement, error) {
	end := r.From.Add(r.Hold)
	s, err := a.Metrics.Sample(ctx, r.Workload, r.From, end)
	if err != nil {
		return ShadowMeasurement{}, fmt.Errorf("final shadow sample of %s over %s..%s: %w", r.Workload, r.From.Format(time.RFC3339), end.Format(time.RFC3339), err)
	}
	out := ShadowMeasurement{Last: s, Samples: cp.Samples + 1, SourceErrors: cp.SourceErrors}
	if r.Drift != nil {
		if out.Drift, err = a.measureDrift(ctx, r, end); err != nil {
			return ShadowMeasurement{}, err
		}
	}
	return out, nil
}
