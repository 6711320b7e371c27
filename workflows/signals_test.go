package workflows

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/temporaldeployer/temporaldeployer/activities"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/store"
)

func productionPromote() contract.Input {
	in := input()
	in.DeploymentAction, in.TargetEnvironment = contract.ActionPromote, contract.EnvProduction
	return in
}

// waitingPromotion is a production promote of a version in Shadow with measured evidence, which
// waits for an approval from allowed (anyone, if empty).
func waitingPromotion(t *testing.T, s *suite, allowed []string) (*world, *testsuite.TestWorkflowEnvironment, contract.Input) {
	wd := newWorld()
	wd.stage, wd.registered = contract.StageShadow, true
	env := s.env(t, wd)
	wd.evidence = measuredEvidence(env.Now())
	in := productionPromote()
	in.AllowedApprovers = allowed
	return wd, env, in
}

// TestApprovalWait: approve, abort and the deadline at virtual times inside the approval wait.
func TestApprovalWait(t *testing.T) {
	cases := []struct {
		name      string
		approveAt time.Duration // 0: never
		approver  string
		abortAt   time.Duration // 0: never
		allowed   []string
		wantErr   string
		wantStage contract.Stage
	}{
		{"approved after 1h", time.Hour, "alice@example.com", 0, nil, "", contract.StageProduction},
		{"approved just before the 72h deadline", 72*time.Hour - time.Minute, "alice@example.com", 0, nil, "", contract.StageProduction},
		{"no approval: deadline", 0, "", 0, nil, contract.ErrApprovalTimeout, contract.StageShadow},
		{"aborted while waiting", 0, "", 5 * time.Hour, nil, contract.ErrAborted, contract.StageShadow},
		{"abort wins over a later approval", 10 * time.Hour, "alice@example.com", 2 * time.Hour, nil, contract.ErrAborted, contract.StageShadow},
		{"approver not allowed is ignored", time.Hour, "bob@example.com", 0, []string{"alice@example.com"}, contract.ErrApprovalTimeout, contract.StageShadow},
		{"an unsigned approval is ignored", time.Hour, "unsigned", 0, nil, contract.ErrApprovalTimeout, contract.StageShadow},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd, env, in := waitingPromotion(t, &s, tc.allowed)
			var during contract.Status
			env.RegisterDelayedCallback(func() { during = status(t, env) }, 30*time.Minute)
			if tc.approveAt > 0 {
				env.RegisterDelayedCallback(func() {
					a := contract.ApproveSignal{Approver: "alice@example.com", Comment: "ok"}
					if tc.approver != "unsigned" {
						a = signedApproval(t, env, tc.approver)
					}
					env.SignalWorkflow(contract.SignalApprove, a)
				}, tc.approveAt)
			}
			if tc.abortAt > 0 {
				env.RegisterDelayedCallback(func() {
					env.SignalWorkflow(contract.SignalAbort, contract.AbortSignal{Reason: "bad data", RequestedBy: "bob"})
				}, tc.abortAt)
			}
			env.ExecuteWorkflow(contract.WorkflowType, in)
			_, err := result(t, env)
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v), want %q", got, err, tc.wantErr)
			}
			if wd.stage != tc.wantStage {
				t.Errorf("stage %s, want %s", wd.stage, tc.wantStage)
			}
			if during.WaitingFor != waitApproval || during.WaitingUntil == nil || during.Node != NodeValidatePromotion {
				t.Errorf("status while waiting: %+v", during)
			}
			want := map[string]string{"": "approved", contract.ErrApprovalTimeout: "timed_out"}[tc.wantErr]
			rejected := 0
			if tc.approveAt > 0 && tc.wantErr == contract.ErrApprovalTimeout {
				rejected = 1
			}
			if got := wd.verdicts("approval"); want != "" && (len(got) != 1+rejected || got[len(got)-1] != want || countOf(got, "rejected") != rejected) {
				t.Errorf("ledger approval %v, want %d rejected then %s", got, rejected, want)
			}
			if tc.wantErr == contract.ErrAborted {
				if got := wd.verdicts("run_outcome"); len(got) != 1 || got[0] != "aborted" {
					t.Errorf("ledger run_outcome %v", got)
				}
			}
		})
	}
}

func TestApprovalBeforeWaitIsIgnored(t *testing.T) {
	var s suite
	wd := newWorld()
	env := s.env(t, wd)
	in := input()
	in.TargetEnvironment = contract.EnvProduction
	in.ShadowHold = "24h"
	// An approval during the shadow hold, before the evidence is in, must not count.
	wd.shadowHold = func(r activities.ShadowHoldRequest) (activities.ShadowMeasurement, error) {
		env.SignalWorkflow(contract.SignalApprove, contract.ApproveSignal{Approver: "eager@example.com"})
		time.Sleep(50 * time.Millisecond) // let the signal land while the hold runs
		return activities.ShadowMeasurement{Last: sample(r.Workload, r.From, r.From.Add(r.Hold), 18000, 20, 42), Samples: 288}, nil
	}
	env.ExecuteWorkflow(contract.WorkflowType, in)
	_, err := result(t, env)
	if errType(err) != contract.ErrApprovalTimeout {
		t.Fatalf("got %v, want ApprovalTimeout", err)
	}
	if wd.stage != contract.StageShadow {
		t.Errorf("stage %s: the Production rung must not have been promoted", wd.stage)
	}
}

// TestShadowHold: the measured hold completes, or an abort during it (HoldShadow is running)
// cancels it and rolls back.
func TestShadowHold(t *testing.T) {
	cases := []struct {
		name      string
		abort     bool
		wantErr   string
		wantStage contract.Stage
	}{
		{"hold completes", false, "", contract.StageShadow},
		{"abort during the hold", true, contract.ErrAborted, contract.StageStaging},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := newWorld()
			wd.stage, wd.registered = contract.StageStaging, true
			env := s.env(t, wd)
			in := input()
			in.TargetEnvironment = contract.EnvShadow
			if tc.abort {
				wd.duringHold = func() {
					env.SignalWorkflow(contract.SignalAbort, contract.AbortSignal{Reason: "drift", RequestedBy: "oncall"})
				}
			}
			env.ExecuteWorkflow(contract.WorkflowType, in)
			out, err := result(t, env)
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v), want %q", got, err, tc.wantErr)
			}
			if wd.stage != tc.wantStage {
				t.Errorf("stage %s, want %s", wd.stage, tc.wantStage)
			}
			if tc.wantErr == "" {
				if out.DeploymentManifest.Environment != contract.EnvShadow || !out.HealthCheckPassed {
					t.Errorf("output %+v", out)
				}
				if got := wd.verdicts("shadow_criteria"); len(got) != 1 || got[0] != "passed" {
					t.Errorf("measured shadow evidence not recorded as passed: %v", got)
				}
				if len(wd.tags) != 1 || wd.tags[0].Tags["temporaldeployer.shadow.source"] != contract.SourceMeasured {
					t.Errorf("evidence tags on the version: %+v", wd.tags)
				}
				return
			}
			if len(wd.restores) != 1 || wd.restores[0].To != nil {
				t.Errorf("abort with no known-good must remove the candidate: %+v", wd.restores)
			}
			for _, row := range wd.rows {
				if row.Status != store.StatusAborted {
					t.Errorf("deployment row %s status %s, want aborted", row.DeploymentID, row.Status)
				}
			}
		})
	}
}

// TestSignalsNeverDroppedSilently: a signal whose payload does not decode is noted in the status
// (the SDK dropped it with a log line only), an undecodable abort still aborts, and a flood of
// ignored signals is counted but only the first ignoredSignalsNoted are kept in the status.
func TestSignalsNeverDroppedSilently(t *testing.T) {
	cases := []struct {
		name        string
		send        func(t testing.TB, env *testsuite.TestWorkflowEnvironment)
		wantErr     string
		wantIgnored int
		wantNoted   int
		wantIn      string // in the last ignored note, or in the error
	}{
		{"an approval that does not decode is noted, a good one then approves", func(t testing.TB, env *testsuite.TestWorkflowEnvironment) {
			env.SignalWorkflow(contract.SignalApprove, "yes please")
			env.SignalWorkflow(contract.SignalApprove, map[string]any{"approver": 42})
			env.SignalWorkflow(contract.SignalApprove, signedApproval(t, env, "alice@example.com"))
		}, "", 2, 2, "payload does not decode"},
		{"an abort that does not decode still aborts", func(t testing.TB, env *testsuite.TestWorkflowEnvironment) {
			env.SignalWorkflow(contract.SignalAbort, []int{1, 2})
		}, contract.ErrAborted, 0, 0, "does not decode"},
		{"a repeated abort is noted", func(t testing.TB, env *testsuite.TestWorkflowEnvironment) {
			env.SignalWorkflow(contract.SignalAbort, contract.AbortSignal{RequestedBy: "bob"})
			env.SignalWorkflow(contract.SignalAbort, contract.AbortSignal{RequestedBy: "carol"})
		}, contract.ErrAborted, 1, 1, `abort by "carol" ignored`},
		{"strangers, then an abort: the run_outcome entry counts them", func(t testing.TB, env *testsuite.TestWorkflowEnvironment) {
			for range 3 {
				env.SignalWorkflow(contract.SignalApprove, contract.ApproveSignal{Approver: "mallory@example.com"})
			}
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(contract.SignalAbort, contract.AbortSignal{RequestedBy: "bob"}) }, time.Minute)
		}, contract.ErrAborted, 3, 3, "rejected: unsigned"},
		{"a flood of approvals from strangers is counted, the status keeps 20", func(t testing.TB, env *testsuite.TestWorkflowEnvironment) {
			for i := range 500 {
				env.SignalWorkflow(contract.SignalApprove, contract.ApproveSignal{Approver: fmt.Sprintf("mallory%d@example.com", i)})
			}
			env.SignalWorkflow(contract.SignalApprove, signedApproval(t, env, "alice@example.com"))
		}, "", 500, ignoredSignalsNoted, "rejected: unsigned"},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd, env, in := waitingPromotion(t, &s, []string{"alice@example.com"})
			env.RegisterDelayedCallback(func() { tc.send(t, env) }, time.Hour)
			env.ExecuteWorkflow(contract.WorkflowType, in)
			_, err := result(t, env)
			st := status(t, env)
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v), want %q", got, err, tc.wantErr)
			}
			var noted []contract.NodeOutcome
			for _, n := range st.Nodes {
				if n.Outcome == "ignored" {
					noted = append(noted, n)
				}
			}
			if st.IgnoredSignals != tc.wantIgnored || len(noted) != tc.wantNoted {
				t.Fatalf("ignored %d, noted %d; want %d and %d", st.IgnoredSignals, len(noted), tc.wantIgnored, tc.wantNoted)
			}
			if len(noted) > 0 && !strings.Contains(noted[len(noted)-1].Detail, tc.wantIn) {
				t.Errorf("last note %q does not say %q", noted[len(noted)-1].Detail, tc.wantIn)
			}
			if len(noted) == 0 && tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("error %q does not say %q", err, tc.wantIn)
			}
			for _, d := range wd.decisions {
				if d.Gate == contract.GateRunOutcome && strings.HasPrefix(tc.name, "strangers") && fmt.Sprint(d.Inputs["ignored_signals"]) != fmt.Sprint(tc.wantIgnored) {
					t.Errorf("run_outcome inputs %v: want ignored_signals %d", d.Inputs, tc.wantIgnored)
				}
			}
		})
	}
}
