package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// TestCompensationIsBounded: a failed run's compensation retries until it succeeds or until the
// policy's compensation timeout, then ends with CompensationFailed, visible in the status and the
// ledger, the row marked failed and the locks released. Before gates version 6 a restore that
// could never succeed was retried forever (and a refused one ended the run with no outcome recorded).
func TestCompensationIsBounded(t *testing.T) {
	cases := []struct {
		name        string
		restoreErr  error
		wantErr     string
		wantStatus  string // prefix of status.compensation
		wantOutcome string // the last run_outcome verdict
		minElapsed  time.Duration
	}{
		{"a restore that succeeds", nil, contract.ErrShadowCriteriaNotMet, "done", "failed", 0},
		{"an API server that never answers: retried for 6h, then an operator", errors.New("connection refused"),
			contract.ErrCompensationFailed, "failed: ", "compensation_failed", 6 * time.Hour},
		{"a restore the cluster refuses: at once", contract.NewError(contract.ErrRolloutFailed, "image not found"),
			contract.ErrCompensationFailed, "failed: ", "compensation_failed", 0},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			wd.stage, wd.registered, wd.restoreErr = contract.StageStaging, true, tc.restoreErr
			wd.shadowHold = func(r activities.ShadowHoldRequest) (activities.ShadowMeasurement, error) { // 10 % errors
				return activities.ShadowMeasurement{Last: sample(r.Workload, r.From, r.From.Add(r.Hold), 18000, 1800, 42), Samples: 288}, nil
			}
			env := s.env(t, wd)
			in := input()
			in.TargetEnvironment = contract.EnvShadow
			start := env.Now()
			env.ExecuteWorkflow(contract.WorkflowType, in)
			_, err := result(t, env)
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v), want %q", got, err, tc.wantErr)
			}
			if elapsed := env.Now().Sub(start); elapsed < tc.minElapsed-5*time.Minute || elapsed > tc.minElapsed+time.Hour {
				t.Errorf("ended after %s, want about %s (%v; %d restores)", elapsed, tc.minElapsed, err, wd.calls["RestoreWorkload"])
			}
			st := status(t, env)
			if !strings.HasPrefix(st.Compensation, tc.wantStatus) {
				t.Errorf("status.compensation %q, want %q…", st.Compensation, tc.wantStatus)
			}
			if got := wd.verdicts(contract.GateRunOutcome); len(got) == 0 || got[len(got)-1] != tc.wantOutcome {
				t.Errorf("run_outcome %v, want %s last", got, tc.wantOutcome)
			}
			if tc.wantErr == contract.ErrCompensationFailed {
				for _, row := range wd.rows {
					if row.Status != store.StatusFailed {
						t.Errorf("row %s is %s, want failed", row.DeploymentID, row.Status)
					}
				}
			}
			if last := wd.locks[len(wd.locks)-1]; last != "release shadow" {
				t.Errorf("locks %v: the rung's lock must be released last", wd.locks)
			}
		})
	}
}
