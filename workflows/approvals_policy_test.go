package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/approval"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// TestApprovalPolicyOwnsTheList: the input's allowed_approvers may narrow the worker's approver
// policy, never widen it; a worker with no policy refuses production before anything moves.
func TestApprovalPolicyOwnsTheList(t *testing.T) {
	cases := []struct {
		name      string
		allowed   []string
		requester string
		required  int
		noPolicy  bool
		wantErr   string
		wantField string
	}{
		{"a stranger in allowed_approvers", []string{"bob@example.com", "mallory@evil.example"}, "", 1, false, contract.ErrInvalidInput, "allowed_approvers[1]"},
		{"carol has a key but may not approve production", []string{"carol@example.com"}, "", 1, false, contract.ErrInvalidInput, "allowed_approvers[0]"},
		{"narrowed to the requester alone", []string{"alice@example.com"}, "alice@example.com", 1, false, contract.ErrInvalidInput, "allowed_approvers: leaves 0"},
		{"narrowed below two required", []string{"bob@example.com"}, "", 2, false, contract.ErrInvalidInput, "allowed_approvers: leaves 1"},
		{"two required, the requester one of the two", nil, "bob@example.com", 2, false, contract.ErrInvalidInput, "requested_by: leaves 1"},
		{"no approver policy on the worker", nil, "", 1, true, contract.ErrBackendNotConfigured, "DEPLOYER_APPROVERS_FILE"},
		{"the requester is staging's only approver", nil, "alice@example.com", 1, false, contract.ErrInvalidInput, "requested_by: leaves 0 approver(s) for staging"},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd, env, in := waitingPromotion(t, &s, tc.allowed)
			wd.policy.Approvals = testApprovers(tc.required, strings.Contains(tc.wantField, "staging"))
			if tc.noPolicy {
				wd.policy.Approvals = approval.Policy{}
			}
			if tc.requester != "" {
				in.RequestedBy = tc.requester
			}
			env.ExecuteWorkflow(contract.WorkflowType, in)
			_, err := result(t, env)
			if errType(err) != tc.wantErr || !strings.Contains(err.Error(), tc.wantField) {
				t.Fatalf("got %v, want %s naming %s", err, tc.wantErr, tc.wantField)
			}
			if wd.calls["Claim"] != 0 || wd.calls["PromoteStage"] != 0 {
				t.Errorf("calls %v: nothing may happen before the refusal", wd.calls)
			}
		})
	}
}

// TestRollbackNeedsApproval: a production rollback waits for a signed approval naming the version
// it restores, as a promotion does; without one nothing is restored.
func TestRollbackNeedsApproval(t *testing.T) {
	cases := []struct {
		name    string
		approve bool
		wantErr string
	}{
		{"approved: restored", true, ""},
		{"no approval: nothing restored", false, contract.ErrApprovalTimeout},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			wd.knownGood = knownGood()
			wd.current = &store.Deployment{DeploymentID: "fraud-detector-production-bad", ModelName: "fraud-detector", ModelVersion: "2", Status: store.StatusHealthy}
			env := s.env(t, wd)
			in := input()
			in.DeploymentAction, in.TargetEnvironment = contract.ActionRollback, contract.EnvProduction
			var req approval.Binding
			env.RegisterDelayedCallback(func() { _, req = pendingRequest(t, env) }, 30*time.Minute)
			if tc.approve {
				approveAfter(t, env, time.Hour)
			}
			env.ExecuteWorkflow(contract.WorkflowType, in)
			_, err := result(t, env)
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v), want %q", got, err, tc.wantErr)
			}
			if req.Action != string(contract.ActionRollback) || req.ModelVersion != "0" || req.Environment != "production" {
				t.Errorf("approval request %+v: want the rollback to version 0 in production", req)
			}
			if restored := wd.calls["RestoreWorkload"]; (restored == 1) != tc.approve {
				t.Errorf("RestoreWorkload called %d times", restored)
			}
		})
	}
}

// TestStagingApprovalWhenThePolicySaysSo: an environment the policy names waits for its own
// approval, bound to that environment; one the policy does not name does not wait.
func TestStagingApprovalWhenThePolicySaysSo(t *testing.T) {
	var s suite
	for _, stagingToo := range []bool{false, true} {
		wd := newWorld()
		wd.policy.Approvals = testApprovers(1, stagingToo)
		env := s.env(t, wd)
		var req approval.Binding
		env.RegisterDelayedCallback(func() { _, req = pendingRequest(t, env) }, 30*time.Minute)
		if stagingToo {
			approveAfter(t, env, time.Hour)
		}
		env.ExecuteWorkflow(contract.WorkflowType, input())
		if _, err := result(t, env); err != nil {
			t.Fatalf("staging approval %v: %v", stagingToo, err)
		}
		if stagingToo != (req.Environment == "staging") {
			t.Errorf("staging approval %v: request %+v", stagingToo, req)
		}
		if got := wd.verdicts("approval"); stagingToo != (len(got) == 1 && got[0] == "approved") {
			t.Errorf("staging approval %v: ledger %v", stagingToo, got)
		}
	}
}

// TestApprovalNotAwaited: an approval before the run waits for one is rejected and recorded,
// and does not count later.
func TestApprovalNotAwaited(t *testing.T) {
	var s suite
	wd, env, in := waitingPromotion(t, &s, nil)
	wd.evidence = nil
	in.ShadowHold = "24h"
	wd.stage = contract.StageStaging
	in.DeploymentAction = contract.ActionDeploy
	sent := make(chan *updateResult, 1)
	wd.shadowHold = func(r activities.ShadowHoldRequest) (activities.ShadowMeasurement, error) {
		b := approval.Binding{WorkflowID: "default-test-workflow-id", Environment: "production", Action: "deploy"}
		tok := signedBy(t, "alice@example.com", b, env.Now(), time.Minute, nil)
		go func() { sent <- sendUpdate(env, "early", contract.ApproveSignal{Token: tok}) }()
		select { // answered while the hold runs: the run waits for no approval yet
		case <-(<-peek(sent)).done:
		case <-time.After(10 * time.Second):
			t.Error("the early Update was not answered during the hold")
		}
		return activities.ShadowMeasurement{Last: sample(r.Workload, r.From, r.From.Add(r.Hold), 18000, 20, 42), Samples: 288}, nil
	}
	env.ExecuteWorkflow(contract.WorkflowType, in)
	_, err := result(t, env)
	upd := <-sent
	if errType(err) != contract.ErrApprovalTimeout {
		t.Fatalf("got %v, want ApprovalTimeout", err)
	}
	if upd == nil || errType(upd.err) != contract.ErrApprovalRejected || !strings.HasPrefix(upd.err.Error(), approval.RejectNotAwaited) {
		t.Fatalf("early update answered %+v", upd)
	}
	if got := wd.verdicts("approval"); countOf(got, "rejected") != 1 || countOf(got, "timed_out") != 1 {
		t.Errorf("ledger %v", got)
	}
}

// peek reads the update result from c and puts it back for the test to read again.
func peek(c chan *updateResult) chan *updateResult {
	r := <-c
	c <- r
	out := make(chan *updateResult, 1)
	out <- r
	return out
}
