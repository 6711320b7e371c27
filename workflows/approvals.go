package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/temporaldeployer/temporaldeployer/approval"
	"github.com/temporaldeployer/temporaldeployer/contract"
	"github.com/temporaldeployer/temporaldeployer/store"
)

// Signed approvals (gates version 6). An approval is a token signed by an approver's key in the
// worker's approver policy, bound to this run, this version and the environment awaited; it is
// judged here, in workflow code, by approval.Judge (pure and deterministic), whether it came as
// the `approve` Update or the `approve` signal. Accepted and rejected approvals both go to the
// evidence ledger; the rejected ones bounded, each wait with a budget of its own.

// acceptedApproval is one approval that verified, as it came in.
type acceptedApproval struct {
	claims          approval.Claims
	via             string
	unsignedComment string // a comment sent beside the token, not signed: recorded as such
}

// approvalWait is the wait for approvals of one environment.
type approvalWait struct {
	env      contract.Environment
	rule     approval.Rule
	binding  approval.Binding
	accepted []acceptedApproval // every approval that verified in this wait, expired ones included
	rejected int                // rejections of this wait noted for the ledger
}

// valid is what still counts at now: an accepted approval that has expired since no longer does
// (its approver may send a fresh one).
func (aw *approvalWait) valid(now time.Time) []acceptedApproval {
	valid, _ := aw.split(now)
	return valid
}

// split parts the accepted approvals into those still valid at now and those that have expired.
func (aw *approvalWait) split(now time.Time) (valid, expired []acceptedApproval) {
	for _, a := range aw.accepted {
		if a.claims.Expiry > now.Unix() {
			valid = append(valid, a)
		} else {
			expired = append(expired, a)
		}
	}
	return valid, expired
}

func approverIDs(as []acceptedApproval) []string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.claims.Approver
	}
	return ids
}

// Where an approval came in, as recorded.
const (
	viaUpdate = "update"
	viaSignal = "signal"
)

// maxApprovalPayload bounds what one approval may carry (token, comment, approver): the Update's
// validator refuses larger ones before they reach history, the signal path rejects them.
const maxApprovalPayload = 16 << 10

// claimedMax bounds how much of an unverified approver name the status and the ledger keep.
const claimedMax = 200

// needsApproval reports whether moving onto env waits for approvals in this run.
func (w *run) needsApproval(env contract.Environment) bool {
	if !w.req.RequireApproval {
		return false
	}
	if w.gates < gatesApprovalsSigned {
		return env == contract.EnvProduction
	}
	_, ok := w.policy.Approvals.Rule(string(env))
	return ok
}

// awaitSigned waits until env has the approvals its rule needs, all still valid, up to the
// approval timeout; an abort ends the wait. Every approval judged meanwhile, accepted or not, is
// recorded, however the wait ends.
func (w *run) awaitSigned(ctx workflow.Context, env contract.Environment) error {
	rule, _ := w.policy.Approvals.Rule(string(env))
	aw := &approvalWait{env: env, rule: rule, binding: approval.Binding{
		WorkflowID: w.info.WorkflowExecution.ID, RunID: w.info.WorkflowExecution.RunID,
		DeploymentName: w.req.DeploymentName, ModelName: w.modelName(), ModelVersion: w.version.Version,
		Environment: string(env), Action: string(w.req.Action)}}
	w.awaiting = aw
	w.status.ApprovalRequest, w.status.ApprovalsRequired = &aw.binding, rule.Required
	defer func() { w.awaiting, w.status.ApprovalRequest, w.status.ApprovalsRequired = nil, nil, 0 }()

	summary := fmt.Sprintf("await %d signed approval(s) of %s v%s for %s (deadline %s)",
		rule.Required, aw.binding.ModelName, aw.binding.ModelVersion, env, w.req.ApprovalTimeout)
	ok, err := w.wait(ctx, waitApproval, summary, w.req.ApprovalTimeout, func() bool {
		return len(aw.valid(workflow.Now(ctx))) >= rule.Required
	})
	valid, expired := aw.split(workflow.Now(ctx))
	decisions := append(w.takeRejections(), w.approvedDecisions(ctx, aw, expired, contract.VerdictExpired)...)
	decisions = append(decisions, w.approvedDecisions(ctx, aw, valid, contract.VerdictApproved)...)
	switch {
	case err != nil: // aborted: what came in is recorded all the same
		if len(decisions) > 0 {
			_ = w.record(ctx, store.Change{Decisions: decisions})
		}
		return err
	case !ok:
		reason := fmt.Sprintf("%d of %d valid approvals for %s within %s", len(valid), rule.Required, env, w.req.ApprovalTimeout)
		decisions = append(decisions, w.decision(ctx, contract.GateApproval, contract.VerdictTimedOut, reason, contract.SourceSigned, "",
			map[string]any{"timeout": w.req.ApprovalTimeout.String(), "approvers": approverIDs(valid), "required": rule.Required,
				"rejected": w.status.RejectedApprovals}))
		return w.deny(ctx, decisions, contract.ErrApprovalTimeout, reason)
	}
	return w.record(ctx, store.Change{Decisions: decisions})
}

// approvedDecisions are the ledger entries of approvals that verified, the verified approver as
// the actor: approved for those that count, expired for those that lapsed before the wait ended.
func (w *run) approvedDecisions(ctx workflow.Context, aw *approvalWait, as []acceptedApproval, verdict string) []store.Decision {
	var ds []store.Decision
	for _, a := range as {
		c := a.claims
		inputs := map[string]any{"approver": c.Approver, "comment": c.Comment, "via": a.via, "environment": c.Environment,
			"issued_at": time.Unix(c.IssuedAt, 0).UTC(), "expires_at": time.Unix(c.Expiry, 0).UTC(),
			"required": aw.rule.Required, "binding": c.Binding, "rejected": w.status.RejectedApprovals}
		if a.unsignedComment != "" {
			inputs["unsigned_comment"] = a.unsignedComment
		}
		ds = append(ds, w.decision(ctx, contract.GateApproval, verdict, c.Comment, contract.SourceSigned, c.Approver, inputs))
	}
	return ds
}

func (w *run) modelName() string {
	if w.version.Name != "" {
		return w.version.Name
	}
	return w.req.ModelName
}

// judgeApproval judges one signed approval against what the run awaits now: accepted, it counts
// towards the awaited environment; rejected, it is noted (bounded) and the error names why.
func (w *run) judgeApproval(ctx workflow.Context, s contract.ApproveSignal, via string) (contract.ApprovalResult, error) {
	if rej := oversized(s); rej != nil {
		return contract.ApprovalResult{}, w.rejectApproval(ctx, s, via, rej)
	}
	aw := w.awaiting
	if aw == nil {
		return contract.ApprovalResult{}, w.rejectApproval(ctx, s, via, &approval.Rejection{Code: approval.RejectNotAwaited,
			Detail: "this run is not waiting for an approval now (status.waiting_for)"})
	}
	now := workflow.Now(ctx)
	valid := aw.valid(now)
	want := approval.Request{Binding: aw.binding, Requester: w.req.RequestedBy, Allowed: w.req.AllowedApprovers, Have: approverIDs(valid)}
	claims, rej := approval.Judge(w.policy.Approvals, want, s.Token, s.Approver, now)
	if rej != nil {
		return contract.ApprovalResult{}, w.rejectApproval(ctx, s, via, rej)
	}
	a := acceptedApproval{claims: claims, via: via}
	if s.Comment != claims.Comment {
		a.unsignedComment = s.Comment
	}
	aw.accepted = append(aw.accepted, a) // an expired approval of the same approver no longer counts, and stays recorded
	w.status.Approvals = append(w.status.Approvals, contract.ApprovalRecord{Approver: claims.Approver, Environment: aw.env,
		Comment: claims.Comment, Via: via, IssuedAt: time.Unix(claims.IssuedAt, 0).UTC(), At: now.UTC()})
	workflow.GetLogger(ctx).Info("approval accepted", "approver", claims.Approver, "environment", aw.env,
		"via", via, "approvals", len(valid)+1, "required", aw.rule.Required)
	return contract.ApprovalResult{Accepted: true, Approver: claims.Approver, Approvals: len(valid) + 1, Required: aw.rule.Required}, nil
}

// oversized rejects an approval too large to be one, before it is judged.
func oversized(s contract.ApproveSignal) *approval.Rejection {
	if n := len(s.Token) + len(s.Comment) + len(s.Approver); n > maxApprovalPayload {
		return &approval.Rejection{Code: approval.RejectMalformed, Detail: fmt.Sprintf("an approval of %d bytes exceeds %d", n, maxApprovalPayload)}
	}
	return nil
}

// rejectApproval notes a rejected approval in the status and, bounded (per wait, and for those
// outside any wait), for the ledger; the claimed approver is recorded, clipped, as claimed, never
// as the actor.
func (w *run) rejectApproval(ctx workflow.Context, s contract.ApproveSignal, via string, rej *approval.Rejection) error {
	claimed := approval.Clip(s.Approver, claimedMax)
	w.status.RejectedApprovals++
	w.ignoreSignal(ctx, contract.SignalApprove, fmt.Sprintf("approval (%s) by %q rejected: %s", via, claimed, approval.Clip(rej.Error(), 500)))
	budget := &w.rejectedOutside
	if w.awaiting != nil {
		budget = &w.awaiting.rejected
	}
	if *budget < ignoredSignalsNoted {
		*budget++
		w.rejections = append(w.rejections, w.decision(ctx, contract.GateApproval, contract.VerdictRejected, approval.Clip(rej.Error(), 500),
			contract.SourceSigned, "", map[string]any{"code": rej.Code, "detail": approval.Clip(rej.Detail, 500), "via": via,
				"claimed_approver": claimed, "signed": s.Token != ""}))
	}
	return temporal.NewNonRetryableApplicationError(rej.Error(), contract.ErrApprovalRejected, nil)
}

// takeRejections hands over the rejected approvals not yet written to the ledger.
func (w *run) takeRejections() []store.Decision {
	d := w.rejections
	w.rejections = nil
	return d
}

// approveUpdate is the `approve` Update's handler.
func (w *run) approveUpdate(ctx workflow.Context, s contract.ApproveSignal) (contract.ApprovalResult, error) {
	return w.judgeApproval(ctx, s, viaUpdate)
}

// validateApproval is the `approve` Update's validator: it keeps out of history what cannot be an
// approval (an oversized payload) and any Update to a run started before signed approvals (it
// takes the signal). Everything else is judged, and recorded, by the handler.
func (w *run) validateApproval(_ workflow.Context, s contract.ApproveSignal) error {
	if w.gates < gatesApprovalsSigned {
		return temporal.NewNonRetryableApplicationError(approval.RejectNotAwaited+": this run predates signed approvals: send the approve signal",
			contract.ErrApprovalRejected, nil)
	}
	if rej := oversized(s); rej != nil {
		return temporal.NewNonRetryableApplicationError(rej.Error(), contract.ErrApprovalRejected, nil)
	}
	return nil
}
