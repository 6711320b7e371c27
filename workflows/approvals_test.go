package workflows

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/temporaldeployer/temporaldeployer/approval"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// forge builds an approval for the run as it waits now; each case breaks one thing.
type forge func(t testing.TB, env *testsuite.TestWorkflowEnvironment) contract.ApproveSignal

func signedWith(approver string, ttl time.Duration, edit func(*approval.Claims)) forge {
	return func(t testing.TB, env *testsuite.TestWorkflowEnvironment) contract.ApproveSignal {
		_, b := pendingRequest(t, env)
		return contract.ApproveSignal{Token: signedBy(t, approver, b, env.Now(), ttl, edit)}
	}
}

// rejectionCases are approvals a production promote must reject, each with the reason it names.
func rejectionCases() []struct {
	name, code string
	requester  string
	allowed    []string
	make       forge
} {
	type c = struct {
		name, code string
		requester  string
		allowed    []string
		make       forge
	}
	tamper := func(t testing.TB, env *testsuite.TestWorkflowEnvironment) contract.ApproveSignal {
		s := signedWith("alice@example.com", 10*time.Minute, nil)(t, env)
		parts := strings.Split(s.Token, ".")
		sig := []byte(parts[2])
		sig[3] = 'A' // another base64url letter: another signature
		if parts[2][3] == 'A' {
			sig[3] = 'B'
		}
		s.Token = parts[0] + "." + parts[1] + "." + string(sig)
		return s
	}
	unknownKey := func(t testing.TB, env *testsuite.TestWorkflowEnvironment) contract.ApproveSignal {
		_, b := pendingRequest(t, env)
		k, err := approval.GenerateKey("EdDSA", "kid-alice@example.com-stolen")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := approval.Sign(k, approval.Claims{Binding: b, Approver: "alice@example.com", IssuedAt: env.Now().Unix(), Expiry: env.Now().Add(time.Minute).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return contract.ApproveSignal{Token: tok}
	}
	return []c{
		{"unsigned, a name only (the mallory of the issue)", approval.RejectUnsigned, "", nil,
			func(testing.TB, *testsuite.TestWorkflowEnvironment) contract.ApproveSignal {
				return contract.ApproveSignal{Approver: "mallory@evil.example"}
			}},
		{"forged signature", approval.RejectBadSignature, "", nil, tamper},
		{"a key the policy does not hold", approval.RejectUnknownKey, "", nil, unknownKey},
		{"signed by carol's key, claiming alice", approval.RejectApproverMismatch, "", nil,
			signedWith("mallory@example.com", 10*time.Minute, func(c *approval.Claims) { c.Approver = "alice@example.com" })},
		{"approver field is not the signer", approval.RejectApproverMismatch, "", nil,
			func(t testing.TB, env *testsuite.TestWorkflowEnvironment) contract.ApproveSignal {
				s := signedWith("alice@example.com", 10*time.Minute, nil)(t, env)
				s.Approver = "bob@example.com"
				return s
			}},
		{"carol may not approve production", approval.RejectNotEligible, "", nil, signedWith("carol@example.com", 10*time.Minute, nil)},
		{"allowed_approvers narrows to bob", approval.RejectNotEligible, "", []string{"bob@example.com"}, signedWith("alice@example.com", 10*time.Minute, nil)},
		{"bound to another run", approval.RejectWrongRun, "", nil,
			signedWith("alice@example.com", 10*time.Minute, func(c *approval.Claims) { c.RunID = "another-run" })},
		{"bound to another version", approval.RejectWrongVersion, "", nil,
			signedWith("alice@example.com", 10*time.Minute, func(c *approval.Claims) { c.ModelVersion = "99" })},
		{"bound to another environment", approval.RejectWrongEnvironment, "", nil,
			signedWith("alice@example.com", 10*time.Minute, func(c *approval.Claims) { c.Environment = "staging" })},
		{"bound to another action", approval.RejectWrongAction, "", nil,
			signedWith("alice@example.com", 10*time.Minute, func(c *approval.Claims) { c.Action = "rollback" })},
		{"expired", approval.RejectExpired, "", nil, signedWith("alice@example.com", 10*time.Minute, func(c *approval.Claims) {
			c.IssuedAt -= 1200
			c.Expiry -= 1200
		})},
		{"valid for longer than max_age", approval.RejectTooOld, "", nil, signedWith("alice@example.com", 2*time.Hour, nil)},
		{"issued in the future", approval.RejectNotYetValid, "", nil, signedWith("alice@example.com", 10*time.Minute, func(c *approval.Claims) {
			c.IssuedAt += 3600
			c.Expiry += 3600
		})},
		{"the requester approving their own run", approval.RejectSelfApproval, "alice@example.com", nil, signedWith("alice@example.com", 10*time.Minute, nil)},
	}
}

// TestApprovalRejections: each bad approval, sent as the Update and as the signal, is rejected
// naming why; the run goes on waiting (here until its deadline) and the ledger holds the rejection.
func TestApprovalRejections(t *testing.T) {
	var s suite
	for _, tc := range rejectionCases() {
		for _, via := range []string{viaUpdate, viaSignal} {
			t.Run(via+"/"+tc.name, func(t *testing.T) {
				wd, env, in := waitingPromotion(t, &s, tc.allowed)
				if tc.requester != "" {
					in.RequestedBy = tc.requester
				}
				var upd *updateResult
				env.RegisterDelayedCallback(func() { upd = sendVia(env, via, "u1", tc.make(t, env)) }, time.Hour)
				env.ExecuteWorkflow(contract.WorkflowType, in)
				_, err := result(t, env)
				if errType(err) != contract.ErrApprovalTimeout {
					t.Fatalf("got %v, want the run to go on waiting until ApprovalTimeout", err)
				}
				if wd.stage != contract.StageShadow {
					t.Errorf("stage %s: nothing may move", wd.stage)
				}
				if upd != nil && (upd.accepted != nil || errType(upd.err) != contract.ErrApprovalRejected || !strings.HasPrefix(upd.err.Error(), tc.code+":")) {
					t.Errorf("update answered %+v, %v; want a rejection %s", upd.accepted, upd.err, tc.code)
				}
				st := status(t, env)
				if st.RejectedApprovals != 1 || len(st.Approvals) != 0 {
					t.Errorf("status rejected %d approvals %v", st.RejectedApprovals, st.Approvals)
				}
				var rejected []store.Decision
				for _, d := range wd.decisions {
					if d.Gate == "approval" && d.Verdict == "rejected" {
						rejected = append(rejected, d)
					}
				}
				if len(rejected) != 1 || rejected[0].Inputs["code"] != tc.code || rejected[0].Inputs["via"] != via || rejected[0].Actor != "" {
					t.Errorf("ledger rejections %+v, want one %s via %s with no verified actor", rejected, tc.code, via)
				}
			})
		}
	}
}

// TestApprovalsAccepted: N-of-M approvals through both paths; a duplicate does not count twice.
func TestApprovalsAccepted(t *testing.T) {
	cases := []struct {
		name     string
		required int
		send     []string // approver/via
		wantErr  string
		answers  []string // the updates' answers: "accepted n/m" or the rejection code
	}{
		{"one approval by Update", 1, []string{"alice@example.com/update"}, "", []string{"accepted 1/1"}},
		{"one approval by signal", 1, []string{"bob@example.com/signal"}, "", nil},
		{"two of two, Update then signal", 2, []string{"alice@example.com/update", "bob@example.com/signal"}, "", []string{"accepted 1/2"}},
		{"alice twice is one approval", 2, []string{"alice@example.com/update", "alice@example.com/update"}, contract.ErrApprovalTimeout,
			[]string{"accepted 1/2", approval.RejectDuplicate}},
		{"alice twice, then bob", 2, []string{"alice@example.com/update", "alice@example.com/signal", "bob@example.com/update"}, "",
			[]string{"accepted 1/2", "accepted 2/2"}},
	}
	var s suite
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd, env, in := waitingPromotion(t, &s, nil)
			wd.policy.Approvals = testApprovers(tc.required, false)
			var upds []*updateResult
			for i, sv := range tc.send {
				approver, via, _ := strings.Cut(sv, "/")
				env.RegisterDelayedCallback(func() {
					if u := sendVia(env, via, fmt.Sprint("u", i), signedApproval(t, env, approver)); u != nil {
						upds = append(upds, u)
					}
				}, time.Hour+time.Duration(i)*time.Minute)
			}
			env.ExecuteWorkflow(contract.WorkflowType, in)
			_, err := result(t, env)
			if got := errType(err); got != tc.wantErr {
				t.Fatalf("error type %q (%v), want %q", got, err, tc.wantErr)
			}
			var answers []string
			for _, u := range upds {
				if u.accepted != nil {
					answers = append(answers, fmt.Sprintf("accepted %d/%d", u.accepted.Approvals, u.accepted.Required))
				} else if u.err != nil {
					code, _, _ := strings.Cut(u.err.Error(), ":")
					answers = append(answers, code)
				}
			}
			if fmt.Sprint(answers) != fmt.Sprint(tc.answers) {
				t.Errorf("update answers %v, want %v", answers, tc.answers)
			}
			approved := wd.verdicts("approval")
			if tc.wantErr == "" && (wd.stage != contract.StageProduction || countOf(approved, "approved") != tc.required) {
				t.Errorf("stage %s, ledger %v: want Production with %d approved entries", wd.stage, approved, tc.required)
			}
			if tc.wantErr != "" && (wd.stage != contract.StageShadow || countOf(approved, "timed_out") != 1) {
				t.Errorf("stage %s, ledger %v: want Shadow and a timed_out entry", wd.stage, approved)
			}
		})
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// TestApprovalsCountWhileValid: N approvals must all be valid together. With two required,
// alice's 10-minute approval has expired when bob's arrives an hour later, so the run goes on
// waiting; her fresh one 5 minutes after his completes it (not a duplicate of the expired one).
func TestApprovalsCountWhileValid(t *testing.T) {
	var s suite
	wd, env, in := waitingPromotion(t, &s, nil)
	wd.policy.Approvals = testApprovers(2, false)
	var upds []*updateResult
	for i, at := range []struct {
		approver string
		after    time.Duration
	}{{"alice@example.com", time.Hour}, {"bob@example.com", 2 * time.Hour}, {"alice@example.com", 2*time.Hour + 5*time.Minute}} {
		env.RegisterDelayedCallback(func() {
			upds = append(upds, sendUpdate(env, fmt.Sprint("u", i), signedApproval(t, env, at.approver)))
		}, at.after)
	}
	env.ExecuteWorkflow(contract.WorkflowType, in)
	if _, err := result(t, env); err != nil {
		t.Fatal(err)
	}
	var answers []string
	for _, u := range upds {
		if u.accepted == nil {
			t.Fatalf("update rejected: %v", u.err)
		}
		answers = append(answers, fmt.Sprintf("%d/%d", u.accepted.Approvals, u.accepted.Required))
	}
	if fmt.Sprint(answers) != "[1/2 1/2 2/2]" {
		t.Errorf("answers %v, want [1/2 1/2 2/2]: alice's first approval expired before bob's came", answers)
	}
	var actors []string
	for _, d := range wd.decisions {
		if d.Gate == contract.GateApproval {
			actors = append(actors, d.Verdict+":"+d.Actor)
		}
	}
	want := "[expired:alice@example.com approved:bob@example.com approved:alice@example.com]"
	if fmt.Sprint(actors) != want || wd.stage != contract.StageProduction {
		t.Errorf("approval ledger %v (stage %s), want %s: alice's lapsed approval recorded, bob's and her fresh one counted",
			actors, wd.stage, want)
	}
}

// TestExpiredApprovalRecordedAtTimeout: the only approval lapses before a second arrives and the
// wait times out; the ledger still shows it, as expired, beside the timeout.
func TestExpiredApprovalRecordedAtTimeout(t *testing.T) {
	var s suite
	wd, env, in := waitingPromotion(t, &s, nil)
	wd.policy.Approvals = testApprovers(2, false)
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, "alice", signedApproval(t, env, "alice@example.com"))
	}, time.Hour)
	env.ExecuteWorkflow(contract.WorkflowType, in)
	if _, err := result(t, env); errType(err) != contract.ErrApprovalTimeout {
		t.Fatalf("got %v, want ApprovalTimeout", err)
	}
	var got []string
	for _, d := range wd.decisions {
		if d.Gate == contract.GateApproval {
			got = append(got, d.Verdict+":"+d.Actor)
		}
	}
	if fmt.Sprint(got) != "[expired:alice@example.com timed_out:]" {
		t.Errorf("approval ledger %v, want alice's expired approval and the timeout", got)
	}
}

// TestOversizedApproval: an approval over 16 KiB is refused by the Update's validator (it never
// reaches history) and rejected as malformed when signalled (recorded, its claimed name clipped).
func TestOversizedApproval(t *testing.T) {
	var s suite
	big := contract.ApproveSignal{Approver: strings.Repeat("m", 300), Comment: strings.Repeat("x", maxApprovalPayload)}
	for _, via := range []string{viaUpdate, viaSignal} {
		t.Run(via, func(t *testing.T) {
			wd, env, in := waitingPromotion(t, &s, nil)
			var upd *updateResult
			env.RegisterDelayedCallback(func() { upd = sendVia(env, via, "big", big) }, time.Hour)
			env.ExecuteWorkflow(contract.WorkflowType, in)
			if _, err := result(t, env); errType(err) != contract.ErrApprovalTimeout {
				t.Fatalf("got %v, want ApprovalTimeout", err)
			}
			rejected := 0
			for _, d := range wd.decisions {
				if d.Verdict == contract.VerdictRejected {
					rejected++
					if d.Inputs["code"] != approval.RejectMalformed || len(d.Inputs["claimed_approver"].(string)) > claimedMax+len("…") {
						t.Errorf("rejection %v", d.Inputs)
					}
				}
			}
			switch via {
			case viaUpdate:
				if upd == nil || !strings.Contains(upd.rejected, "malformed") || rejected != 0 {
					t.Errorf("update %+v, %d recorded: want the validator's refusal, nothing in history", upd, rejected)
				}
			case viaSignal:
				if rejected != 1 {
					t.Errorf("%d rejections recorded, want 1", rejected)
				}
			}
		})
	}
}

// TestApprovalRecordsWhatWasSigned: a comment sent beside the token is recorded as unsigned, never
// as the signed reason; and an approval accepted before an abort is recorded all the same.
func TestApprovalRecordsWhatWasSigned(t *testing.T) {
	var s suite
	wd, env, in := waitingPromotion(t, &s, nil)
	wd.policy.Approvals = testApprovers(2, false)
	env.RegisterDelayedCallback(func() {
		a := signedApproval(t, env, "alice@example.com") // signed comment: "looks good"
		a.Comment = "ship it, trust me"
		env.SignalWorkflow(contract.SignalApprove, a)
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(contract.SignalAbort, contract.AbortSignal{Reason: "bad data", RequestedBy: "bob"})
	}, time.Hour+5*time.Minute) // while alice's 10-minute approval is valid
	env.ExecuteWorkflow(contract.WorkflowType, in)
	if _, err := result(t, env); errType(err) != contract.ErrAborted {
		t.Fatalf("got %v, want Aborted", err)
	}
	var approved []string
	for _, d := range wd.decisions {
		if d.Gate == contract.GateApproval && d.Verdict == contract.VerdictApproved {
			approved = append(approved, d.Actor)
			if d.Reason != "looks good" || d.Inputs["unsigned_comment"] != "ship it, trust me" {
				t.Errorf("reason %q, inputs %v: want the signed comment as reason and the other as unsigned", d.Reason, d.Inputs)
			}
		}
	}
	if fmt.Sprint(approved) != "[alice@example.com]" {
		t.Errorf("approved entries %v: alice's approval before the abort must be recorded", approved)
	}
}
