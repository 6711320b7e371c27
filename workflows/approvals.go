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
// evidence ledger; the rejected ones bounded like every ignored signal.

// approvalWait is the wait for approvals of one environment.
type approvalWait struct {
	env      contract.Environment
	rule     approval.Rule
	binding  approval.Binding
	accepted []approval.Claims
	via      []string
}

func (aw *approvalWait) done() bool { return len(aw.accepted) >= aw.rule.Required }

func (aw *approvalWait) approvers() []string {
	ids := make([]string, len(aw.accepted))
	for i, c := range aw.accepted {
		ids[i] = c.Approver
	}
	return ids
}

// Where an approval came in, as recorded.
const (
	viaUpdate = "update"
	viaSignal = "signal"
)

// maxApprovalPayload bounds what one approval may carry (token and comment); the Update's
// validator refuses larger ones before they reach history.
const maxApprovalPayload = 16 << 10

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

// awaitSigned waits until env has the approvals its rule needs, up to the approval timeout; an
// abort ends the wait. Every approval judged meanwhile, accepted or not, is recorded.
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
	ok, err := w.wait(ctx, waitApproval, summary, w.req.ApprovalTimeout, aw.done)
	decisions := w.takeRejections()
	if err != nil {
		if len(decisions) > 0 {
			_ = w.record(ctx, store.Change{Decisions: decisions})
		}
		return err
	}
	if !ok {
		reason := fmt.Sprintf("%d of %d approvals for %s within %s", len(aw.accepted), rule.Required, env, w.req.ApprovalTimeout)
		decisions = append(decisions, w.decision(ctx, "approval", "timed_out", reason, "signed", "",
			map[string]any{"timeout": w.req.ApprovalTimeout.String(), "approvers": aw.approvers(), "required": rule.Required}))
		return w.deny(ctx, decisions, contract.ErrApprovalTimeout, reason)
	}
	for i, c := range aw.accepted {
		decisions = append(decisions, w.decision(ctx, "approval", "approved", c.Comment, "signed", c.Approver, map[string]any{
			"approver": c.Approver, "comment": c.Comment, "via": aw.via[i], "environment": c.Environment,
			"issued_at": time.Unix(c.IssuedAt, 0).UTC(), "expires_at": time.Unix(c.Expiry, 0).UTC(),
			"required": rule.Required, "binding": c.Binding}))
	}
	return w.record(ctx, store.Change{Decisions: decisions})
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
	aw := w.awaiting
	if aw == nil {
		return contract.ApprovalResult{}, w.rejectApproval(ctx, s, via, &approval.Rejection{Code: approval.RejectNotAwaited,
			Detail: "this run is not waiting for an approval now (status.waiting_for)"})
	}
	want := approval.Request{Binding: aw.binding, Requester: w.req.RequestedBy, Allowed: w.req.AllowedApprovers, Have: aw.approvers()}
	claims, rej := approval.Judge(w.policy.Approvals, want, s.Token, s.Approver, workflow.Now(ctx))
	if rej != nil {
		return contract.ApprovalResult{}, w.rejectApproval(ctx, s, via, rej)
	}
	if s.Comment != "" && claims.Comment == "" {
		claims.Comment = s.Comment // unsigned: kept as said, the signed one wins
	}
	aw.accepted, aw.via = append(aw.accepted, claims), append(aw.via, via)
	w.status.Approvals = append(w.status.Approvals, contract.ApprovalRecord{Approver: claims.Approver, Environment: aw.env,
		Comment: claims.Comment, Via: via, IssuedAt: time.Unix(claims.IssuedAt, 0).UTC(), At: workflow.Now(ctx).UTC()})
	workflow.GetLogger(ctx).Info("approval accepted", "approver", claims.Approver, "environment", aw.env,
		"via", via, "approvals", len(aw.accepted), "required", aw.rule.Required)
	return contract.ApprovalResult{Accepted: true, Approver: claims.Approver, Approvals: len(aw.accepted), Required: aw.rule.Required}, nil
}

// rejectApproval notes a rejected approval in the status and, bounded, for the ledger; the
// claimed approver is recorded as claimed, never as verified.
func (w *run) rejectApproval(ctx workflow.Context, s contract.ApproveSignal, via string, rej *approval.Rejection) error {
	w.status.RejectedApprovals++
	w.ignoreSignal(ctx, contract.SignalApprove, fmt.Sprintf("approval (%s) by %q rejected: %s", via, s.Approver, rej))
	if w.status.RejectedApprovals <= ignoredSignalsNoted {
		w.rejections = append(w.rejections, w.decision(ctx, "approval", "rejected", rej.Error(), "signed", "", map[string]any{
			"code": rej.Code, "detail": rej.Detail, "via": via, "claimed_approver": s.Approver, "signed": s.Token != ""}))
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
	if w.gates < gatesApprovalsSigned {
		return contract.ApprovalResult{}, temporal.NewNonRetryableApplicationError(
			"this run predates signed approvals: send the approve signal", contract.ErrApprovalRejected, nil)
	}
	return w.judgeApproval(ctx, s, viaUpdate)
}

// validateApproval is the `approve` Update's validator: it keeps oversized payloads out of
// history. Everything else is judged (and recorded) by the handler.
func validateApproval(_ workflow.Context, s contract.ApproveSignal) error {
	if n := len(s.Token) + len(s.Comment) + len(s.Approver); n > maxApprovalPayload {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("malformed: approval of %d bytes exceeds %d", n, maxApprovalPayload),
			contract.ErrApprovalRejected, nil)
	}
	return nil
}
