package tests

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/temporaldeployer/temporaldeployer/approval"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/tests/realparts"
)

// approve approves a waiting run through the operator CLI and checks what it printed.
func (e *env) approve(t *testing.T, id, approver, want string) {
	t.Helper()
	out, code := e.tdctl(t, "approve", "-key", e.approvers.Keys[approver], "-approver", approver,
		"-comment", "shadow looks good", id)
	if !strings.Contains(out, want) || (code == 0) != strings.HasPrefix(want, "accepted") {
		t.Fatalf("tdctl approve as %s: exit %d\n%s\nwant %q", approver, code, out, want)
	}
}

// tdctl runs the operator CLI against this world's Temporal and store.
func (e *env) tdctl(t *testing.T, args ...string) (string, int) {
	t.Helper()
	return realparts.TDCtl(t, []string{"TEMPORAL_ADDRESS=" + e.tp.Address, "DATABASE_URL=" + e.dbURL}, args...)
}

// forgedApprovals: on the dev server, a production promote waiting for its approval is not
// moved by the unsigned signal of the issue (the mallory approval), by an Update whose
// signature is forged, or by an approver the policy does not name; the Python example service's
// signed approval is accepted, and the ledger holds all four.
func (e *env) forgedApprovals(t *testing.T, name string) {
	for _, target := range []contract.Environment{contract.EnvStaging, contract.EnvShadow} {
		if out, err := e.run(t, string(target)+"-"+name, e.input(name, contract.ActionPromote, target, false)); err != nil {
			t.Fatalf("promote to %s: %+v %v", target, out, err)
		}
	}
	id := "prod-approvals-" + name
	e.start(t, id, e.input(name, contract.ActionPromote, contract.EnvProduction, true))
	e.waitFor(t, id, "approval")

	e.tp.CLI(t, "workflow", "signal", "--workflow-id", id, "--name", contract.SignalApprove,
		"--input", `{"approver":"mallory@evil.example","comment":"ship it"}`)
	forged := forgeToken(t, e, id)
	out, err := exec.Command(realparts.VenvBin("temporal"), "workflow", "update", "execute", "--workflow-id", id,
		"--name", contract.UpdateApprove, "--input", `{"token":"`+forged+`"}`, "--address", e.tp.Address).CombinedOutput()
	if err == nil || !strings.Contains(string(out), approval.RejectBadSignature) {
		t.Errorf("a forged Update: err %v, want a bad_signature rejection:\n%s", err, out)
	}
	e.approve(t, id, "carol@example.com", "rejected: "+approval.RejectNotEligible)
	st := e.status(t, id)
	if st.WaitingFor != "approval" || st.RejectedApprovals != 3 || len(st.Approvals) != 0 {
		t.Fatalf("after three bad approvals: waiting for %q, %d rejected, approvals %v", st.WaitingFor, st.RejectedApprovals, st.Approvals)
	}

	out2, code := e.tdctl(t, "status", id)
	if code != 0 || !strings.Contains(out2, "approval request: promote "+name) || !strings.Contains(out2, "rejected approvals 3") {
		t.Errorf("tdctl status: exit %d\n%s", code, out2)
	}
	out2, code = e.tdctl(t, "list", "-deployment", name, "-open")
	if code != 0 || !strings.Contains(out2, id) || strings.Contains(out2, "staging-"+name) {
		t.Errorf("tdctl list -deployment %s -open: exit %d\n%s", name, code, out2)
	}
	pyOut, code := approveWithPython(t, e.tp.Address, id, e.approvers.Keys["alice@example.com"], "alice@example.com")
	if code != 0 || !strings.Contains(pyOut, "accepted") {
		t.Fatalf("the Python service's approval: exit %d\n%s", code, pyOut)
	}
	if res, err := e.result(t, id); err != nil || res.VersionRecord.Stage != contract.StageProduction {
		t.Fatalf("out %+v err %v", res, err)
	}
	g := e.gates(t, id)
	if g["approval:rejected"] != 3 || g["approval:approved"] != 1 {
		t.Errorf("ledger %v: want 3 rejected approvals and 1 approved", g)
	}
	replayRecorded(t, e.tp, id, "promote_production_signed_approvals.json")
	ds, _ := e.st.Decisions(context.Background(), id)
	for _, d := range ds {
		if d.Gate == "approval" && d.Verdict == "approved" && d.Actor != "alice@example.com" {
			t.Errorf("approved by %q, want the verified alice@example.com", d.Actor)
		}
	}
}

// forgeToken signs alice's approval for the run with a key that only claims to be hers.
func forgeToken(t *testing.T, e *env, id string) string {
	st := e.status(t, id)
	k, err := approval.GenerateKey("EdDSA", "alice@example.com-test") // her key ID, not her key
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := approval.Sign(k, approval.Claims{Binding: *st.ApprovalRequest, Approver: "alice@example.com",
		IssuedAt: now.Unix(), Expiry: now.Add(5 * time.Minute).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// status reads a run's status query.
func (e *env) status(t *testing.T, id string) contract.Status {
	t.Helper()
	st, err := e.tp.Status(context.Background(), id)
	if err != nil {
		t.Fatalf("status of %s: %v", id, err)
	}
	if st.ApprovalRequest == nil && st.WaitingFor == "approval" {
		b, _ := json.Marshal(st)
		t.Fatalf("waiting for approval with no approval request: %s", b)
	}
	return st
}
