package workflows

import (
	"slices"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/contract"
)

// TestRungLocks: a production deploy rewrites staging and shadow on its way, so from gates
// version 5 it holds each of their locks while it is on that rung (before, only production's: a
// staging or shadow run of another version could interleave with it). A lock held by another run
// stops the deploy before the rung changes anything, and a failed rung keeps its lock until its
// compensation is done.
func TestRungLocks(t *testing.T) {
	failingHold := func(r activities.ShadowHoldRequest) (activities.ShadowMeasurement, error) {
		return activities.ShadowMeasurement{Last: sample(r.Workload, r.From, r.From.Add(r.Hold), 18000, 1800, 42), Samples: 288}, nil
	}
	cases := []struct {
		name     string
		heldBy   map[string]string
		hold     func(activities.ShadowHoldRequest) (activities.ShadowMeasurement, error)
		wantErr  string
		promotes int
		want     []string
	}{
		{"each lower rung's lock is held while the run is on it", nil, nil, "", 3, []string{
			"claim production", "claim staging", "release staging", "claim shadow", "release shadow", "release production"}},
		{"staging held by another run: nothing changes", map[string]string{"staging": "other"}, nil, contract.ErrConcurrentDeployment, 0, []string{
			"claim production", "claim staging", "release production"}},
		{"shadow held: staging is done, the shadow rung never starts", map[string]string{"shadow": "other"}, nil, contract.ErrConcurrentDeployment, 1, []string{
			"claim production", "claim staging", "release staging", "claim shadow", "release production"}},
		{"a failed shadow rung keeps its lock through its compensation", nil, failingHold, contract.ErrShadowCriteriaNotMet, 3, []string{
			"claim production", "claim staging", "release staging", "claim shadow", "restore shadow", "release shadow", "release production"}},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			wd.heldBy, wd.shadowHold = tc.heldBy, tc.hold
			env := s.env(t, wd)
			in := input()
			in.TargetEnvironment = contract.EnvProduction
			approveAfter(t, env, 25*time.Hour)
			env.ExecuteWorkflow(contract.WorkflowType, in)
			_, err := result(t, env)
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v), want %q", got, err, tc.wantErr)
			}
			if !slices.Equal(wd.locks, tc.want) {
				t.Errorf("locks %q,\nwant %q", wd.locks, tc.want)
			}
			if wd.calls["PromoteStage"] != tc.promotes {
				t.Errorf("%d promotions (with the revert), want %d", wd.calls["PromoteStage"], tc.promotes)
			}
		})
	}
}
